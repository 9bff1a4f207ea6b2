using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

/// <summary>Changing a user's role and password from the users page, through forms that carry an antiforgery token.</summary>
[Collection(WebUiCollection.Name)]
public sealed class UserChangesTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    private async Task<string> AddMemberAsync(string username, string password)
    {
        using var admin = server.Client(WebUiServer.AdminKey);
        using var created = await admin.PostAsJsonAsync("admin/users", new { username, password, role = "member" });
        created.EnsureSuccessStatusCode();
        return (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    private static async Task SignInWithPasswordAsync(IPage page, string username, string password)
    {
        await page.GotoAsync("signin");
        await page.Locator("#username").FillAsync(username);
        await page.Locator("#password").FillAsync(password);
        await page.Locator("#signin-password-submit").ClickAsync();
    }

    [Fact]
    public async Task An_administrator_makes_a_member_a_developer_and_sets_a_new_password_that_then_signs_in()
    {
        var username = "clerk" + Guid.NewGuid().ToString("N")[..6];
        await AddMemberAsync(username, "the first long password");

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("manage/users");
        await WebUiServer.WaitInteractiveAsync(page);
        var row = page.Locator($"#users-table tr[data-username='{username}']");
        await row.Locator("details.user-change summary").ClickAsync();
        await row.Locator("form.role-form select").SelectOptionAsync("developer");
        await row.Locator("button.set-role").ClickAsync();
        await Assertions.Expect(page.Locator("#user-change-done")).ToHaveTextAsync($"The role of {username} was changed.");
        await Assertions.Expect(row.Locator("td").Nth(2)).ToHaveTextAsync("Developer");

        // Too short: refused with the rule, and the old password still works.
        await WebUiServer.WaitInteractiveAsync(page);
        await row.Locator("details.user-change summary").ClickAsync();
        await row.Locator("form.password-form input[name=password]").EvaluateAsync("e => e.removeAttribute('minlength')");
        await row.Locator("form.password-form input[name=password]").FillAsync("short");
        await row.Locator("button.set-password").ClickAsync();
        await Assertions.Expect(page.Locator("#user-change-error")).ToContainTextAsync("at least");

        await WebUiServer.WaitInteractiveAsync(page);
        await row.Locator("details.user-change summary").ClickAsync();
        await row.Locator("form.password-form input[name=password]").FillAsync("the second long password");
        await row.Locator("button.set-password").ClickAsync();
        await Assertions.Expect(page.Locator("#user-change-done")).ToHaveTextAsync($"A new password was set for {username}.");

        var other = await server.NewPageAsync();
        await SignInWithPasswordAsync(other, username, "the first long password");
        await Assertions.Expect(other.Locator("#signin-error")).ToBeVisibleAsync();
        await SignInWithPasswordAsync(other, username, "the second long password");
        await Assertions.Expect(other.Locator(".who")).ToHaveTextAsync(username);

        await page.GotoAsync("manage/audit");
        await WebUiServer.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("#audit-table tr[data-action='user.role_changed']").First).ToContainTextAsync("key:");
        await Assertions.Expect(page.Locator("#audit-table tr[data-action='user.password_changed']")).Not.ToHaveCountAsync(0);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_post_from_another_site_without_the_forms_token_changes_nothing()
    {
        var username = "target" + Guid.NewGuid().ToString("N")[..6];
        var id = await AddMemberAsync(username, "a long enough password");

        // The administrator's browser, signed in: its cookies go with these posts, as they would with a forged form.
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        foreach (var (action, field, value) in new[] { ("role", "role", "admin"), ("password", "password", "attacker chosen password"), ("disable", "x", "y") })
        {
            var forged = await page.APIRequest.PostAsync($"manage/users/{id}/{action}", new()
            {
                Form = FormOf(page, field, value),
                MaxRedirects = 0,
            });
            Assert.Equal(400, forged.Status);
        }

        using var admin = server.Client(WebUiServer.AdminKey);
        var user = (await admin.GetFromJsonAsync<JsonObject>($"admin/users/{id}"))!;
        Assert.Equal("member", user["role"]!.GetValue<string>());
        Assert.Null(user["disabled_at"]);
        var other = await server.NewPageAsync();
        await SignInWithPasswordAsync(other, username, "a long enough password");
        await Assertions.Expect(other.Locator(".who")).ToHaveTextAsync(username);

        // In Persian, the users page words the outcome of a real change in Persian.
        await page.GotoAsync("culture?name=fa&redirect=/manage/users");
        await WebUiServer.WaitInteractiveAsync(page);
        var row = page.Locator($"#users-table tr[data-username='{username}']");
        await row.Locator("button.disable").ClickAsync();
        await Assertions.Expect(page.Locator("#user-change-done")).ToHaveTextAsync($"{username} غیرفعال شد.");
        await Assertions.Expect(row.Locator(".user-status")).ToHaveTextAsync("غیرفعال");
        await server.CloseContextsAsync();
    }

    private static IFormData FormOf(IPage page, string field, string value) => page.Context.APIRequest.CreateFormData().Set(field, value);
}
