using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

/// <summary>Adding a user and creating a key through plain form posts that carry an antiforgery token, and refusing posts without it.</summary>
[Collection(WebUiCollection.Name)]
public sealed class CreateFormsTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    private async Task<JsonArray> ListAsync(string path)
    {
        using var admin = server.Client(WebUiServer.AdminKey);
        return (await admin.GetFromJsonAsync<JsonObject>(path))!["data"]!.AsArray();
    }

    [Fact]
    public async Task An_administrator_adds_a_user_whose_problems_are_shown_next_to_the_fields_and_who_then_signs_in()
    {
        var username = "newcomer" + Guid.NewGuid().ToString("N")[..6];
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("manage/users");
        await WebUiServer.WaitInteractiveAsync(page);

        await page.Locator("#user-name").FillAsync(username);
        await page.Locator("#user-display").FillAsync("New Comer");
        await page.Locator("#user-role").SelectOptionAsync("developer");
        await page.Locator("#user-password").FillAsync("short");
        await page.Locator("#create-user").ClickAsync();
        await Assertions.Expect(page.Locator("#user-password-error")).ToContainTextAsync("at least");
        await Assertions.Expect(page.Locator("#user-name-error")).ToHaveCountAsync(0);
        // What was typed comes back, all but the password.
        await Assertions.Expect(page.Locator("#user-name")).ToHaveValueAsync(username);
        await Assertions.Expect(page.Locator("#user-display")).ToHaveValueAsync("New Comer");
        await Assertions.Expect(page.Locator("#user-role")).ToHaveValueAsync("developer");
        await Assertions.Expect(page.Locator("#user-password")).ToHaveValueAsync("");
        Assert.DoesNotContain(await ListAsync("admin/users"), u => u!["username"]!.GetValue<string>() == username);

        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#user-password").FillAsync("a long enough password");
        await page.Locator("#create-user").ClickAsync();
        await Assertions.Expect(page.Locator("#user-done")).ToHaveTextAsync($"User {username} added.");
        var row = page.Locator($"#users-table tr[data-username='{username}']");
        await Assertions.Expect(row.Locator("td").Nth(2)).ToHaveTextAsync("Developer");

        // The same name again is refused next to the username (typed once the page is live, or its first render would clear it).
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#user-name").FillAsync(username);
        await page.Locator("#user-password").FillAsync("another long password");
        await page.Locator("#create-user").ClickAsync();
        await Assertions.Expect(page.Locator("#user-name-error")).ToHaveTextAsync("That username is taken.");

        var other = await server.NewPageAsync();
        await other.GotoAsync("signin");
        await other.Locator("#username").FillAsync(username);
        await other.Locator("#password").FillAsync("a long enough password");
        await other.Locator("#signin-password-submit").ClickAsync();
        await Assertions.Expect(other.Locator(".who")).ToHaveTextAsync(username);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task Posts_to_the_create_forms_without_their_token_are_refused_and_make_no_user_and_no_key()
    {
        var username = "forged" + Guid.NewGuid().ToString("N")[..6];
        var keyName = "forged-" + Guid.NewGuid().ToString("N")[..6];
        // The administrator's browser, signed in: its cookies go with these posts, as they would with a forged form.
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        var user = await page.APIRequest.PostAsync("manage/users/new", new()
        {
            Form = page.Context.APIRequest.CreateFormData().Set("username", username).Set("password", "attacker chosen password").Set("role", "admin"),
            MaxRedirects = 0,
        });
        Assert.Equal(400, user.Status);
        var key = await page.APIRequest.PostAsync("manage/keys/new", new()
        {
            Form = page.Context.APIRequest.CreateFormData().Set("name", keyName).Set("scope", "admin"),
            MaxRedirects = 0,
        });
        Assert.Equal(400, key.Status);
        Assert.DoesNotContain(await ListAsync("admin/users"), u => u!["username"]!.GetValue<string>() == username);
        Assert.DoesNotContain(await ListAsync("admin/keys"), k => k!["name"]!.GetValue<string>() == keyName);

        // The same forms, posted from the page with their token, work; in Persian they say so in Persian.
        await page.GotoAsync("culture?name=fa&redirect=/manage/keys");
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#key-name").FillAsync(keyName);
        await page.Locator("#create-key").ClickAsync();
        await Assertions.Expect(page.Locator("#new-key")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("^sov-"));
        Assert.Contains(await ListAsync("admin/keys"), k => k!["name"]!.GetValue<string>() == keyName);
        await server.CloseContextsAsync();
    }
}
