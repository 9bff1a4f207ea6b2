using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

/// <summary>The chat page against the real engine: the tiny model writes stories, so tests look at streaming, not meaning.</summary>
[Collection(WebUiCollection.Name)]
public sealed class ChatTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    private static ILocator LastAnswer(IPage page) => page.Locator("li.message.assistant").Last;

    private static async Task AskAsync(IPage page, string prompt, int? maxTokens = null, bool ignoreEos = false)
    {
        await WebUiServer.WaitInteractiveAsync(page);
        if (maxTokens is not null || ignoreEos)
        {
            await page.Locator("details.settings summary").ClickAsync();
            if (maxTokens is { } max) await page.Locator("#max-tokens").FillAsync(max.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (ignoreEos) await page.Locator("#ignore-eos").CheckAsync();
        }
        await page.Locator("#prompt").FillAsync(prompt);
        await page.Locator("#send").ClickAsync();
    }

    [Fact]
    public async Task An_answer_streams_in_token_by_token_from_the_real_model_and_stop_ends_it_keeping_what_arrived()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await Assertions.Expect(page.Locator("#model")).ToHaveValueAsync(WebUiServer.ChatModel);

        // A fixed-length answer far longer than the test waits for, so it is still streaming on a fast machine too.
        await AskAsync(page, "Once upon a time", maxTokens: 15000, ignoreEos: true);

        // While it streams, the text must be seen to grow: two different non-empty lengths.
        var answer = LastAnswer(page);
        var lengths = new HashSet<int>();
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline && lengths.Count < 2)
        {
            var state = await answer.GetAttributeAsync("data-state");
            Assert.True(state == "streaming", $"the answer is {state}: {await answer.InnerTextAsync()}");
            var length = (await answer.Locator(".bubble").InnerTextAsync()).Length;
            if (length > 0) lengths.Add(length);
            await Task.Delay(50);
        }
        Assert.True(lengths.Count >= 2, $"saw {lengths.Count} lengths while streaming");

        await page.Locator("#stop").ClickAsync();
        await Assertions.Expect(answer).ToHaveAttributeAsync("data-state", "stopped", new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#send")).ToBeVisibleAsync();
        var kept = await answer.Locator(".bubble").InnerTextAsync();
        Assert.True(kept.Trim().Length >= lengths.Max() - 1, "the text that had arrived was kept");
        await Task.Delay(1000);
        Assert.Equal(kept, await answer.Locator(".bubble").InnerTextAsync());
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_finished_answer_is_marked_done_with_its_token_count()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await AskAsync(page, "Once upon a time", maxTokens: 12, ignoreEos: true);
        var answer = LastAnswer(page);
        await Assertions.Expect(answer).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 120_000 });
        await Assertions.Expect(answer.Locator(".tokens")).ToHaveTextAsync("12 tokens");
        Assert.NotEmpty((await answer.Locator(".bubble").InnerTextAsync()).Trim());
        await Assertions.Expect(answer.Locator(".copy-button")).ToBeVisibleAsync();
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task Regenerate_replaces_the_last_answer_and_edit_and_resend_rewrites_the_question()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await AskAsync(page, "Once upon a time", maxTokens: 8);
        await Assertions.Expect(LastAnswer(page)).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 120_000 });

        await page.Locator("#regenerate").ClickAsync();
        await Assertions.Expect(LastAnswer(page)).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 120_000 });
        await Assertions.Expect(page.Locator("li.message")).ToHaveCountAsync(2);

        await page.Locator("li.message.user .edit-button").ClickAsync();
        await page.Locator("#edit-text").FillAsync("The cat sat");
        await page.Locator("#edit-send").ClickAsync();
        await Assertions.Expect(LastAnswer(page)).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 120_000 });
        await Assertions.Expect(page.Locator("li.message")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("li.message.user .bubble")).ToHaveTextAsync("The cat sat");
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_Persian_question_reads_right_to_left_in_an_English_interface()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await AskAsync(page, "سلام، یک داستان بگو", maxTokens: 5);
        var question = page.Locator("li.message.user .bubble");
        await Assertions.Expect(question).ToHaveAttributeAsync("dir", "rtl");
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("dir", "ltr");
        await server.CloseContextsAsync();
    }
}
