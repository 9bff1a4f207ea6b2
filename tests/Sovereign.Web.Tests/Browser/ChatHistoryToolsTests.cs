using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

/// <summary>The chat history's search, rename and export (JSON and Markdown downloads), over the same store as /v1/conversations.</summary>
[Collection(WebUiCollection.Name)]
public sealed class ChatHistoryToolsTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    /// <summary>Keeps a conversation through the API with the same key the browser signs in with, so both see it.</summary>
    private async Task<string> KeepAsync(HttpClient admin, string title, string question, string answer)
    {
        var body = new JsonObject
        {
            ["model"] = WebUiServer.ChatModel,
            ["title"] = title,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = question }, new JsonObject { ["role"] = "assistant", ["content"] = answer }),
        };
        using var created = await admin.PostAsJsonAsync("v1/conversations", body);
        created.EnsureSuccessStatusCode();
        return (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    private static async Task<string> DownloadAsync(IPage page, ILocator link)
    {
        var download = await page.RunAndWaitForDownloadAsync(() => link.ClickAsync());
        return await File.ReadAllTextAsync(await download.PathAsync());
    }

    [Fact]
    public async Task History_is_searched_renamed_and_exported_as_JSON_and_Markdown_downloads()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        using var admin = server.Client(WebUiServer.AdminKey);
        var owls = await KeepAsync(admin, $"Owls {tag}", "Where do owls sleep?", "In hollow trees.");
        var boats = await KeepAsync(admin, $"Boats {tag}", "How do boats float?", "They push water aside.");

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#history summary").ClickAsync();
        await Assertions.Expect(page.Locator($"#history li[data-conversation='{owls}']")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator($"#history li[data-conversation='{boats}']")).ToHaveCountAsync(1);

        // Search narrows the list to what matches, and says so when nothing does.
        await page.Locator("#history-search").FillAsync($"Owls {tag}");
        await Assertions.Expect(page.Locator($"#history li[data-conversation='{boats}']")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator($"#history li[data-conversation='{owls}']")).ToHaveCountAsync(1);
        await page.Locator("#history-search").FillAsync("no such words " + tag);
        await Assertions.Expect(page.Locator("#history-none")).ToHaveTextAsync("No kept conversation matches.");
        await page.Locator("#history-search").FillAsync(tag);
        await Assertions.Expect(page.Locator("#history li[data-conversation]")).ToHaveCountAsync(2);

        // Rename: an empty title is refused in place; a real one is kept on the server.
        var owlsRow = page.Locator($"#history li[data-conversation='{owls}']");
        await owlsRow.Locator("button.rename-conversation").ClickAsync();
        await page.Locator("#rename-title").FillAsync("   ");
        await page.Locator("#rename-save").ClickAsync();
        await Assertions.Expect(page.Locator("#rename-error")).ToHaveTextAsync("Enter a title.");
        await page.Locator("#rename-title").FillAsync($"Night birds {tag}");
        await page.Locator("#rename-save").ClickAsync();
        await Assertions.Expect(owlsRow.Locator("button.open-conversation")).ToHaveTextAsync($"Night birds {tag}");
        var kept = await admin.GetFromJsonAsync<JsonObject>($"v1/conversations/{owls}");
        Assert.Equal($"Night birds {tag}", kept!["title"]!.GetValue<string>());

        // Exports: the same files the API gives.
        var jsonText = await DownloadAsync(page, owlsRow.Locator("a.export-json"));
        Assert.Equal(await admin.GetStringAsync($"v1/conversations/{owls}/export?format=json"), jsonText);
        var json = JsonNode.Parse(jsonText)!;
        Assert.Equal($"Night birds {tag}", json["title"]!.GetValue<string>());
        var messages = json["messages"]!.AsArray();
        Assert.Equal(2, messages.Count);
        Assert.Equal("In hollow trees.", messages[1]!["content"]!.GetValue<string>());
        var markdown = await DownloadAsync(page, owlsRow.Locator("a.export-markdown"));
        Assert.Equal(await admin.GetStringAsync($"v1/conversations/{owls}/export?format=markdown"), markdown);
        Assert.Contains("Where do owls sleep?", markdown, StringComparison.Ordinal);
        Assert.Contains("In hollow trees.", markdown, StringComparison.Ordinal);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task Exporting_someone_elses_or_a_missing_conversation_is_not_found()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        var response = await page.APIRequest.GetAsync("chat/export/conv_nosuchthing?format=json");
        Assert.Equal(404, response.Status);
        var bad = await page.APIRequest.GetAsync("chat/export/conv_nosuchthing?format=pdf");
        Assert.Equal(400, bad.Status);
        Assert.Contains("json or markdown", await bad.TextAsync(), StringComparison.Ordinal);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task In_Persian_the_history_tools_speak_Persian_and_an_empty_title_is_refused_in_Persian()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        using var admin = server.Client(WebUiServer.AdminKey);
        var id = await KeepAsync(admin, $"گفتگوی آزمایشی {tag}", "سلام", "درود");

        var page = await server.NewPageAsync();
        await page.GotoAsync("culture?name=fa&redirect=/signin");
        await WebUiServer.SignInAsync(page);
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#history summary").ClickAsync();
        await page.Locator("#history-search").FillAsync("هیچ‌چیز " + tag);
        await Assertions.Expect(page.Locator("#history-none")).ToHaveTextAsync("هیچ گفتگوی نگه‌داشته‌ای جور نیست.");
        await page.Locator("#history-search").FillAsync(tag);
        var row = page.Locator($"#history li[data-conversation='{id}']");
        await Assertions.Expect(row.Locator("button.open-conversation")).ToHaveTextAsync($"گفتگوی آزمایشی {tag}");
        await row.Locator("button.rename-conversation").ClickAsync();
        await page.Locator("#rename-title").FillAsync("");
        await page.Locator("#rename-save").ClickAsync();
        await Assertions.Expect(page.Locator("#rename-error")).ToHaveTextAsync("یک عنوان وارد کنید.");
        var markdown = await DownloadAsync(page, row.Locator("a.export-markdown"));
        Assert.Contains($"# گفتگوی آزمایشی {tag}", markdown, StringComparison.Ordinal);
        await server.CloseContextsAsync();
    }
}
