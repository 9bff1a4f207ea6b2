#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK.
using System.Text;
using OpenAI.Chat;

namespace Sovereign.Server.Tests.EndToEnd;

/// <summary>The chat API as the official OpenAI .NET SDK uses it, against the real engine.</summary>
[Collection(SharedServerCollection.Name)]
public sealed class OpenAiChatTests(SharedServerFixture fixture)
{
    private readonly SovereignTestServer _server = fixture.Server;

    private static ChatCompletionOptions Greedy(int maxTokens = 40) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    [Fact]
    public async Task Non_streamed_chat_completion_returns_text_and_usage()
    {
        var result = await _server.Chat().CompleteChatAsync([new UserChatMessage("Once upon a time")], Greedy());
        var completion = result.Value;

        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 40);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        Assert.Equal(SovereignTestServer.ChatModel + ":latest", completion.Model);
    }

    [Fact]
    public async Task Streamed_chat_completion_delivers_the_same_text_as_the_non_streamed_one()
    {
        var messages = new List<ChatMessage> { new UserChatMessage("Once upon a time") };
        var whole = (await _server.Chat().CompleteChatAsync(messages, Greedy())).Value.Content[0].Text;

        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var updates = 0;
        await foreach (var update in _server.Chat().CompleteChatStreamingAsync(messages, Greedy()))
        {
            updates++;
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(whole, streamed.ToString());
        Assert.True(updates > 3, "tokens arrive as several deltas, not one block");
        Assert.NotNull(finish);
        Assert.NotNull(usage); // the SDK asks for include_usage
    }

    [Fact]
    public async Task Greedy_decoding_is_deterministic()
    {
        var messages = new List<ChatMessage> { new UserChatMessage("Lily went to the park") };
        var first = (await _server.Chat().CompleteChatAsync(messages, Greedy(60))).Value.Content[0].Text;
        var second = (await _server.Chat().CompleteChatAsync(messages, Greedy(60))).Value.Content[0].Text;
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_sampled_text()
    {
        var messages = new List<ChatMessage> { new UserChatMessage("Once upon a time") };
        ChatCompletionOptions Seeded() => new() { Temperature = 1.0f, Seed = 1234, MaxOutputTokenCount = 60 };
        var first = (await _server.Chat().CompleteChatAsync(messages, Seeded())).Value.Content[0].Text;
        var second = (await _server.Chat().CompleteChatAsync(messages, Seeded())).Value.Content[0].Text;
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Max_tokens_ends_the_answer_with_finish_reason_length()
    {
        var completion = (await _server.Chat().CompleteChatAsync([new UserChatMessage("Once upon a time")], Greedy(3))).Value;
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(3, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task A_stop_string_ends_the_answer_and_is_never_emitted()
    {
        var messages = new List<ChatMessage> { new UserChatMessage("Once upon a time") };
        var free = (await _server.Chat().CompleteChatAsync(messages, Greedy(80))).Value.Content[0].Text;
        // Stop at a word that the free answer contains past its start, so the cut is observable.
        var words = free.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var stopWord = words.Skip(3).First(w => w.Length >= 3 && w.All(char.IsLetter));
        var cutAt = free.IndexOf(stopWord, StringComparison.Ordinal);

        var options = Greedy(80);
        options.StopSequences.Add(stopWord);
        var stopped = (await _server.Chat().CompleteChatAsync(messages, options)).Value;

        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(free[..cutAt], stopped.Content[0].Text);
        Assert.DoesNotContain(stopWord, stopped.Content[0].Text, StringComparison.Ordinal);

        var streamed = new StringBuilder();
        await foreach (var update in _server.Chat().CompleteChatStreamingAsync(messages, options))
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
        Assert.Equal(free[..cutAt], streamed.ToString());
    }

    [Fact]
    public async Task Eight_concurrent_streams_each_get_the_text_they_would_get_alone()
    {
        var prompts = Enumerable.Range(0, 8).Select(i => new[] { "Once upon a time", "Tom had a dog", "The sun was hot", "Lily saw a bird",
            "One day, Ben", "The little cat", "Mom said", "There was a big tree" }[i]).ToArray();

        var alone = new string[prompts.Length];
        for (var i = 0; i < prompts.Length; i++)
            alone[i] = (await _server.Chat().CompleteChatAsync([new UserChatMessage(prompts[i])], Greedy(48))).Value.Content[0].Text;

        var together = await Task.WhenAll(prompts.Select(async p =>
        {
            var sb = new StringBuilder();
            await foreach (var update in _server.Chat().CompleteChatStreamingAsync([new UserChatMessage(p)], Greedy(48)))
                foreach (var part in update.ContentUpdate) sb.Append(part.Text);
            return sb.ToString();
        }));

        Assert.Equal(alone, together);
        Assert.True(alone.Distinct().Count() > 4, "different prompts give different stories");
    }
}
