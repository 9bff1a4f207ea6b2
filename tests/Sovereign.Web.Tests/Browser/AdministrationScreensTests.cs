using System.Net.Http.Json;
using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

/// <summary>The usage, audit and users pages over the server's real stores.</summary>
[Collection(WebUiCollection.Name)]
public sealed class AdministrationScreensTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    [Fact]
    public async Task The_usage_page_counts_a_generation_by_day_and_by_model_in_its_table_and_chart()
    {
        using var admin = server.Client(WebUiServer.AdminKey);
        (await admin.PostAsJsonAsync("v1/chat/completions", new
        {
            model = WebUiServer.ChatModel,
            messages = new[] { new { role = "user", content = "Hi" } },
            max_tokens = 3,
        })).EnsureSuccessStatusCode();

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("manage/usage");
        await WebUiServer.WaitInteractiveAsync(page);

        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var row = page.Locator($"#usage-table tr[data-group='{today}']");
        await Assertions.Expect(row).ToHaveCountAsync(1);
        Assert.True(int.Parse(await row.Locator(".usage-requests").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        await Assertions.Expect(page.Locator($"#usage-chart li[data-group='{today}'] .bar")).ToBeVisibleAsync();

        await page.Locator("#usage-group").SelectOptionAsync("Model");
        await Assertions.Expect(page.Locator($"#usage-table tr[data-group='{WebUiServer.ChatModel}']")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator($"#usage-chart li[data-group='{WebUiServer.ChatModel}']")).ToHaveCountAsync(1);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_user_added_in_the_browser_signs_in_is_in_the_audit_log_and_once_disabled_is_refused()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("manage/users");
        await WebUiServer.WaitInteractiveAsync(page);

        var username = "nurse" + Guid.NewGuid().ToString("N")[..6];
        const string password = "a long enough password";
        await page.Locator("#user-name").FillAsync(username);
        await page.Locator("#user-display").FillAsync("پرستار شب");
        await page.Locator("#user-role").SelectOptionAsync("member");
        await page.Locator("#user-password").FillAsync(password);
        await page.Locator("#create-user").ClickAsync();
        var row = page.Locator($"#users-table tr[data-username='{username}']");
        await Assertions.Expect(row.Locator(".user-status")).ToHaveTextAsync("Enabled");

        // The account works: it signs in with its password in another browser.
        var other = await server.NewPageAsync();
        await SignInWithPasswordAsync(other, username, password);
        await Assertions.Expect(other.Locator(".who")).ToHaveTextAsync(username);

        await page.GotoAsync("manage/audit");
        await WebUiServer.WaitInteractiveAsync(page);
        var created = page.Locator("#audit-table tr[data-action='user.created']", new() { HasText = username });
        await Assertions.Expect(created).ToHaveCountAsync(1);
        await Assertions.Expect(created).ToContainTextAsync("key:");
        await page.Locator("#audit-verify").ClickAsync();
        await Assertions.Expect(page.Locator("#audit-verdict")).ToHaveAttributeAsync("data-intact", "yes");

        await page.GotoAsync("manage/users");
        await WebUiServer.WaitInteractiveAsync(page);
        await row.Locator("button.disable").ClickAsync();
        await Assertions.Expect(row.Locator(".user-status")).ToHaveTextAsync("Disabled");
        var again = await server.NewPageAsync();
        await again.GotoAsync("signin");
        await again.Locator("#username").FillAsync(username);
        await again.Locator("#password").FillAsync(password);
        await again.Locator("#signin-password-submit").ClickAsync();
        await Assertions.Expect(again.Locator("#signin-error")).ToBeVisibleAsync();
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_short_password_and_a_blank_username_are_both_reported_next_to_their_fields()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("manage/users");
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#user-password").FillAsync("short");
        await page.Locator("#create-user").ClickAsync();
        await Assertions.Expect(page.Locator("#user-name-error")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#user-password-error")).ToBeVisibleAsync();
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_member_sees_neither_the_administration_pages_nor_their_links()
    {
        using var admin = server.Client(WebUiServer.AdminKey);
        var username = "member" + Guid.NewGuid().ToString("N")[..6];
        const string password = "correct horse battery";
        (await admin.PostAsJsonAsync("admin/users", new { username, password, role = "member" })).EnsureSuccessStatusCode();

        var page = await server.NewPageAsync();
        await SignInWithPasswordAsync(page, username, password);
        var nav = page.Locator("nav.main-nav");
        await Assertions.Expect(nav).ToContainTextAsync("Knowledge");
        await Assertions.Expect(nav).Not.ToContainTextAsync("Users");
        await Assertions.Expect(nav).Not.ToContainTextAsync("Audit");
        foreach (var path in new[] { "manage/users", "manage/usage", "manage/audit" })
        {
            await page.GotoAsync(path);
            Assert.DoesNotContain("/" + path, new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
        }
        // A member reads knowledge but does not change it.
        await page.GotoAsync("knowledge");
        await WebUiServer.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("#kb-create")).ToHaveCountAsync(0);
        await server.CloseContextsAsync();
    }

    private static async Task SignInWithPasswordAsync(IPage page, string username, string password)
    {
        await page.GotoAsync("signin");
        await page.Locator("#username").FillAsync(username);
        await page.Locator("#password").FillAsync(password);
        await page.Locator("#signin-password-submit").ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("/signin", StringComparison.Ordinal));
    }
}
