using System.Net.Http.Json;
using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

[Collection(WebUiCollection.Name)]
public sealed class SignInTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    [Fact]
    public async Task A_page_that_needs_sign_in_sends_the_browser_to_the_sign_in_form_and_back_after_it()
    {
        var page = await server.NewPageAsync();
        await page.GotoAsync("manage/keys");
        Assert.Contains("/signin", page.Url, StringComparison.Ordinal);

        await page.Locator("#api-key").FillAsync(WebUiServer.AdminKey);
        await page.Locator("#signin-key-submit").ClickAsync();

        await page.WaitForURLAsync("**/manage/keys");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("API keys");
        await Assertions.Expect(page.Locator("nav.main-nav")).ToContainTextAsync("Models");
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task An_unknown_key_is_refused_with_a_message_and_no_session()
    {
        var page = await server.NewPageAsync();
        await page.GotoAsync("signin");
        await page.Locator("#api-key").FillAsync("sov-not-a-real-key-000000000000000000000000");
        await page.Locator("#signin-key-submit").ClickAsync();

        await Assertions.Expect(page.Locator("#signin-error")).ToBeVisibleAsync();
        await page.GotoAsync("");
        Assert.Contains("/signin", page.Url, StringComparison.Ordinal);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task Signing_out_ends_the_session()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.Locator("#sign-out").ClickAsync();
        await page.WaitForURLAsync("**/signin");
        await page.GotoAsync("");
        Assert.Contains("/signin", page.Url, StringComparison.Ordinal);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_local_account_signs_in_with_username_and_password_and_a_wrong_password_is_refused()
    {
        using var admin = server.Client(WebUiServer.AdminKey);
        var username = "webuser" + Guid.NewGuid().ToString("N")[..6];
        const string password = "correct horse battery";
        (await admin.PostAsJsonAsync("admin/users", new { username, password, role = "member" })).EnsureSuccessStatusCode();

        var page = await server.NewPageAsync();
        await page.GotoAsync("signin");
        await page.Locator("#username").FillAsync(username);
        await page.Locator("#password").FillAsync("wrong password here");
        await page.Locator("#signin-password-submit").ClickAsync();
        await Assertions.Expect(page.Locator("#signin-error")).ToContainTextAsync("Incorrect username or password");

        await page.Locator("#username").FillAsync(username);
        await page.Locator("#password").FillAsync(password);
        await page.Locator("#signin-password-submit").ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("/signin", StringComparison.Ordinal));
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Chat");
        await Assertions.Expect(page.Locator(".who")).ToHaveTextAsync(username);
        // A member chats but does not administer.
        await Assertions.Expect(page.Locator("nav.main-nav")).Not.ToContainTextAsync("Models");

        await page.Locator("#sign-out").ClickAsync();
        await page.WaitForURLAsync("**/signin");
        await page.GotoAsync("");
        Assert.Contains("/signin", page.Url, StringComparison.Ordinal);
        await server.CloseContextsAsync();
    }
}
