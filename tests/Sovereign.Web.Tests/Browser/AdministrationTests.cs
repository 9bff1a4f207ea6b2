using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

[Collection(WebUiCollection.Name)]
public sealed class AdministrationTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    [Fact]
    public async Task A_key_is_shown_once_when_created_works_against_the_API_and_stops_working_when_revoked()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("manage/keys");
        await WebUiServer.WaitInteractiveAsync(page);

        var name = "browser-" + Guid.NewGuid().ToString("N")[..8];
        await page.Locator("#key-name").FillAsync(name);
        await page.Locator("#key-scope").SelectOptionAsync("inference");
        await page.Locator("#create-key").ClickAsync();

        var secret = await page.Locator("#new-key").InputValueAsync();
        Assert.StartsWith("sov-", secret, StringComparison.Ordinal);
        using var client = server.Client(secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("v1/models")).StatusCode);

        // The secret never rides in the address, and the page's address, loaded again, shows it no more.
        Assert.DoesNotContain(secret, page.Url, StringComparison.Ordinal);
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#hide-key").ClickAsync();
        await Assertions.Expect(page.Locator("#new-key")).ToHaveCountAsync(0);
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);
        await page.ReloadAsync();
        await WebUiServer.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("#new-key")).ToHaveCountAsync(0);
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);

        var row = page.Locator($"tr[data-key-name='{name}']");
        await Assertions.Expect(row.Locator(".key-status")).ToHaveTextAsync("Active");
        await row.Locator("button.revoke").ClickAsync();
        await Assertions.Expect(row.Locator(".key-status")).ToHaveTextAsync("Revoked");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("v1/models")).StatusCode);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task Creating_a_key_without_a_name_says_so_next_to_the_field()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("manage/keys");
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#key-days").FillAsync("0");
        await page.Locator("#create-key").ClickAsync();
        await Assertions.Expect(page.Locator("#key-name-error")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#key-days-error")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#new-key")).ToHaveCountAsync(0);
        // What was typed is still there to correct.
        await Assertions.Expect(page.Locator("#key-days")).ToHaveValueAsync("0");
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_browser_signed_in_with_a_key_is_signed_out_when_that_key_is_revoked()
    {
        using var admin = server.Client(WebUiServer.AdminKey);
        using var created = await admin.PostAsJsonAsync("admin/keys", new { name = "short-lived", scope = "inference" });
        var body = await created.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>();
        var key = body!["key"]!.GetValue<string>();

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page, key);
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Chat");
        // An inference key sees the chat but not the administration.
        await Assertions.Expect(page.Locator("nav.main-nav")).Not.ToContainTextAsync("Models");
        await page.GotoAsync("manage/keys");
        Assert.DoesNotContain("/manage/keys", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);

        (await admin.DeleteAsync($"admin/keys/{body["id"]!.GetValue<string>()}")).EnsureSuccessStatusCode();
        await page.GotoAsync("");
        Assert.Contains("/signin", page.Url, StringComparison.Ordinal);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_model_file_on_the_server_is_imported_from_the_models_page_and_a_loaded_model_is_unloaded()
    {
        // Load the chat model through the API, so the page has something to unload.
        using var admin = server.Client(WebUiServer.AdminKey);
        (await admin.PostAsJsonAsync("v1/chat/completions", new
        {
            model = WebUiServer.ChatModel,
            messages = new[] { new { role = "user", content = "Hi" } },
            max_tokens = 2,
        })).EnsureSuccessStatusCode();

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("manage/models");
        await WebUiServer.WaitInteractiveAsync(page);

        await page.Locator("#import-path").FillAsync(Path.GetFullPath(WebUiServer.Stories260K));
        await page.Locator("#import-name").FillAsync("imported-in-browser:v1");
        await page.Locator("#import-template").SelectOptionAsync("chatml");
        await page.Locator("#import-submit").ClickAsync();
        await Assertions.Expect(page.Locator("#import-result")).ToContainTextAsync("imported-in-browser:v1", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("#models-table")).ToContainTextAsync("imported-in-browser:v1");

        var loaded = page.Locator("#loaded-table tr", new() { HasText = WebUiServer.ChatModel });
        await Assertions.Expect(loaded).ToHaveCountAsync(1);
        await loaded.Locator("button").ClickAsync();
        await Assertions.Expect(page.Locator("#loaded-table tr", new() { HasText = WebUiServer.ChatModel })).ToHaveCountAsync(0);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task Importing_a_file_that_is_not_there_shows_the_servers_error()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("manage/models");
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#import-path").FillAsync("/nonexistent/model.gguf");
        await page.Locator("#import-submit").ClickAsync();
        await Assertions.Expect(page.Locator("#import-result.error")).ToBeVisibleAsync();
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task The_health_page_shows_the_backend_and_the_decode_speed_of_recent_answers()
    {
        using var admin = server.Client(WebUiServer.AdminKey);
        (await admin.PostAsJsonAsync("v1/chat/completions", new
        {
            model = WebUiServer.ChatModel,
            messages = new[] { new { role = "user", content = "Hi" } },
            max_tokens = 20,
        })).EnsureSuccessStatusCode();

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("manage/health");
        await WebUiServer.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("#health-backend")).ToContainTextAsync("llama.cpp");
        await Assertions.Expect(page.Locator("#health-tps")).ToContainTextAsync(" over ");
        await server.CloseContextsAsync();
    }
}
