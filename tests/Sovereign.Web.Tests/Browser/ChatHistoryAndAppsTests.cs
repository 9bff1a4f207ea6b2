using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

/// <summary>Kept conversations, answers grounded on a knowledge base with their sources, and an app's own chat page.</summary>
[Collection(WebUiCollection.Name)]
public sealed class ChatHistoryAndAppsTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    private static ILocator LastAnswer(IPage page) => page.Locator("li.message.assistant").Last;

    private static async Task AskAsync(IPage page, string prompt, int maxTokens)
    {
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("details.settings summary").ClickAsync();
        await page.Locator("#max-tokens").FillAsync(maxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.Locator("#prompt").FillAsync(prompt);
        await page.Locator("#send").ClickAsync();
        await Assertions.Expect(LastAnswer(page)).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 120_000 });
    }

    [Fact]
    public async Task A_finished_chat_is_kept_in_the_history_reopens_with_its_messages_and_can_be_deleted()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        var question = "Tell me about the cat " + Guid.NewGuid().ToString("N")[..6];
        await AskAsync(page, question, maxTokens: 6);
        var answer = await LastAnswer(page).Locator(".bubble").InnerTextAsync();

        await page.Locator("#new-chat").ClickAsync();
        await Assertions.Expect(page.Locator("li.message")).ToHaveCountAsync(0);

        // A fresh page (a new circuit) still lists it: it is kept on the server, not in the page.
        await page.ReloadAsync();
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#history summary").ClickAsync();
        var kept = page.Locator("#history li", new() { HasText = question });
        await Assertions.Expect(kept).ToHaveCountAsync(1);
        await kept.Locator("button.open-conversation").ClickAsync();
        await Assertions.Expect(page.Locator("li.message")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("li.message.user .bubble")).ToHaveTextAsync(question);
        Assert.Equal(answer, await LastAnswer(page).Locator(".bubble").InnerTextAsync());

        await kept.Locator("button.delete-conversation").ClickAsync();
        await Assertions.Expect(page.Locator("#history li", new() { HasText = question })).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("li.message")).ToHaveCountAsync(0);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task With_a_knowledge_base_chosen_the_answer_lists_its_sources_and_each_opens_to_its_passage()
    {
        var kb = "clinic-" + Guid.NewGuid().ToString("N")[..6];
        await CreateReadyBaseAsync(kb, "opening-hours.txt", "The clinic pharmacy opens at eight and closes at twenty hours on weekdays.");

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#knowledge").SelectOptionAsync(new SelectOptionValue { Label = kb });
        await AskAsync(page, "When does the pharmacy open?", maxTokens: 6);

        var source = LastAnswer(page).Locator(".citations li.passage").First;
        await Assertions.Expect(source).ToHaveAttributeAsync("data-document", "opening-hours.txt");
        await Assertions.Expect(source.Locator(".passage-text")).Not.ToBeVisibleAsync();
        await source.Locator("summary").ClickAsync();
        await Assertions.Expect(source.Locator(".passage-text")).ToContainTextAsync("opens at eight");
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_published_app_is_listed_and_its_own_page_chats_through_it_with_its_knowledge()
    {
        var kb = "farm-" + Guid.NewGuid().ToString("N")[..6];
        await CreateReadyBaseAsync(kb, "wheat.txt", "Sow winter wheat in October after the first rains.");
        var id = "farm-advisor-" + Guid.NewGuid().ToString("N")[..6];
        using var admin = server.Client(WebUiServer.AdminKey);
        var definition = new JsonObject
        {
            ["id"] = id,
            ["name"] = "Farm advisor",
            ["description"] = "Answers from the farm notes.",
            ["model"] = WebUiServer.ChatModel,
            ["instructions"] = "Answer from the notes.",
            ["knowledge"] = new JsonObject { ["bases"] = new JsonArray(kb), ["top_k"] = 2 },
            ["sampling"] = new JsonObject { ["max_tokens"] = 5 },
        };
        (await admin.PostAsJsonAsync("v1/apps", definition)).EnsureSuccessStatusCode();
        (await admin.PostAsync($"v1/apps/{id}/publish", null)).EnsureSuccessStatusCode();

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("apps");
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator($"#apps li[data-app='{id}'] a.open-app").ClickAsync();
        // Blazor's enhanced navigation swaps the page without a new document, so no load event: watch the address.
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/apps/{id}$"));
        await WebUiServer.WaitInteractiveAsync(page, "Farm advisor");
        // The app decides the model: there is no model picker on its page.
        await Assertions.Expect(page.Locator("#model")).ToHaveCountAsync(0);

        await page.Locator("#prompt").FillAsync("When do I sow wheat?");
        await page.Locator("#send").ClickAsync();
        var answer = LastAnswer(page);
        await Assertions.Expect(answer).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 120_000 });
        // The app's own sampling (max_tokens 5) and knowledge applied.
        await Assertions.Expect(answer.Locator(".tokens")).ToHaveTextAsync("5 tokens");
        await Assertions.Expect(answer.Locator(".citations li.passage").First).ToHaveAttributeAsync("data-document", "wheat.txt");
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task An_app_that_does_not_exist_says_so_and_offers_no_send_button()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("apps/no-such-app");
        await WebUiServer.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("#no-app")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#send")).ToBeDisabledAsync();
        await server.CloseContextsAsync();
    }

    /// <summary>Creates a knowledge base through the API with one text document and waits until it is searchable.</summary>
    private async Task CreateReadyBaseAsync(string name, string fileName, string text)
    {
        using var admin = server.Client(WebUiServer.AdminKey);
        (await admin.PostAsJsonAsync("v1/knowledge", new { name })).EnsureSuccessStatusCode();
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        form.Add(file, "file", fileName);
        (await admin.PostAsync($"v1/knowledge/{name}/documents", form)).EnsureSuccessStatusCode();
        for (var i = 0; i < 600; i++)
        {
            var docs = await admin.GetFromJsonAsync<JsonObject>($"v1/knowledge/{name}/documents");
            var status = docs!["data"]![0]!["status"]!.GetValue<string>();
            if (status == "ready") return;
            Assert.NotEqual("failed", status);
            await Task.Delay(200);
        }
        Assert.Fail($"{fileName} did not become ready");
    }
}
