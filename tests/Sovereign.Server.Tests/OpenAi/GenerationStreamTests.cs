using Microsoft.Extensions.Logging.Abstractions;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Server.OpenAi;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.OpenAi;

/// <summary>The SSE formatting on its own: hand-built event sequences in, exact bytes out.</summary>
public sealed class GenerationStreamTests
{
    private static readonly GenerationUsage Usage = new(5, 2, TimeSpan.Zero, TimeSpan.Zero);

    private static async Task<string> WriteAsync(ResponseFormat format, IEnumerable<GenerationEvent> events, bool includeUsage)
    {
        using var body = new MemoryStream();
        await GenerationStream.WriteAsync(new SseWriter(body), format, ScriptedInference.Play(events), includeUsage, NullLogger.Instance, CancellationToken.None);
        return System.Text.Encoding.UTF8.GetString(body.ToArray());
    }

    private static ChatResponseFormat Chat() => new("chatcmpl-1", 1_700_000_000, "stories:latest", "fp_abc");

    private const string ChatHead = """data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"stories:latest","system_fingerprint":"fp_abc","choices":[""";

    [Fact]
    public async Task A_chat_stream_is_role_then_deltas_then_finish_then_usage_then_done()
    {
        var text = await WriteAsync(Chat(),
            [new GenerationEvent.Started(5), new GenerationEvent.TextDelta("Hi", 1), new GenerationEvent.TextDelta(" \"you\"", 1), new GenerationEvent.Finished(FinishReason.Stop, Usage)],
            includeUsage: true);

        Assert.Equal(
            ChatHead + """{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}""" + "\n\n" +
            ChatHead + """{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}""" + "\n\n" +
            ChatHead + """{"index":0,"delta":{"content":" \u0022you\u0022"},"logprobs":null,"finish_reason":null}]}""" + "\n\n" +
            ChatHead + """{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}""" + "\n\n" +
            ChatHead + """],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}""" + "\n\n" +
            "data: [DONE]\n\n",
            text);
    }

    [Fact]
    public async Task Without_include_usage_there_is_no_usage_chunk_and_empty_deltas_are_skipped()
    {
        var text = await WriteAsync(Chat(),
            [new GenerationEvent.Started(5), new GenerationEvent.TextDelta("", 1), new GenerationEvent.TextDelta("a", 1), new GenerationEvent.Finished(FinishReason.Length, Usage)],
            includeUsage: false);

        Assert.Equal(
            ChatHead + """{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}""" + "\n\n" +
            ChatHead + """{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}""" + "\n\n" +
            ChatHead + """{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}""" + "\n\n" +
            "data: [DONE]\n\n",
            text);
    }

    [Fact]
    public async Task A_failure_mid_stream_becomes_an_in_band_error_then_done()
    {
        var text = await WriteAsync(Chat(),
            [new GenerationEvent.Started(5), new GenerationEvent.TextDelta("a", 1), new GenerationEvent.Failed(ErrorKind.Unavailable, "Runner exited.", "runner_crashed")],
            includeUsage: true);

        Assert.EndsWith(
            "\n\n" + """data: {"error":{"message":"Runner exited.","type":"service_unavailable","param":null,"code":"runner_crashed"}}""" + "\n\n" + "data: [DONE]\n\n",
            text, StringComparison.Ordinal);
        Assert.DoesNotContain("finish_reason\":\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_engine_exception_mid_stream_is_reported_in_band_without_details()
    {
        using var body = new MemoryStream();
        await GenerationStream.WriteAsync(new SseWriter(body), Chat(), Explode(), includeUsage: false, NullLogger.Instance, CancellationToken.None);
        var text = System.Text.Encoding.UTF8.GetString(body.ToArray());

        Assert.Contains("\"type\":\"server_error\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("boom", text, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_that_ends_without_finishing_is_reported_as_an_engine_error()
    {
        var text = await WriteAsync(Chat(), [new GenerationEvent.Started(5), new GenerationEvent.TextDelta("a", 1)], includeUsage: false);

        Assert.Contains("\"code\":\"engine_error\"", text, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_text_completion_stream_has_no_opening_chunk_and_a_finish_chunk_with_empty_text()
    {
        var text = await WriteAsync(new TextResponseFormat("cmpl-1", 1_700_000_000, "stories:latest", "fp_abc"),
            [new GenerationEvent.Started(5), new GenerationEvent.TextDelta("Once", 1), new GenerationEvent.Finished(FinishReason.Stop, Usage)],
            includeUsage: true);

        const string head = """data: {"id":"cmpl-1","object":"text_completion","created":1700000000,"model":"stories:latest","system_fingerprint":"fp_abc","choices":[""";
        Assert.Equal(
            head + """{"text":"Once","index":0,"logprobs":null,"finish_reason":null}]}""" + "\n\n" +
            head + """{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}]}""" + "\n\n" +
            head + """],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}""" + "\n\n" +
            "data: [DONE]\n\n",
            text);
    }

    [Fact]
    public async Task Collecting_a_generation_joins_its_text_and_throws_its_failure()
    {
        var done = await GenerationStream.CollectAsync(ScriptedInference.Play(ScriptedInference.Story(FinishReason.Stop, "a", "b")), CancellationToken.None);
        Assert.Equal(("ab", FinishReason.Stop), (done.Text, done.Reason));

        var failure = await Assert.ThrowsAsync<SovereignException>(() => GenerationStream.CollectAsync(
            ScriptedInference.Play([new GenerationEvent.Started(1), new GenerationEvent.Failed(ErrorKind.RateLimited, "busy", "queue_full")]), CancellationToken.None));
        Assert.Equal((ErrorKind.RateLimited, "queue_full"), (failure.Kind, failure.Code));
    }

    private static async IAsyncEnumerable<GenerationEvent> Explode()
    {
        yield return new GenerationEvent.Started(1);
        await Task.Yield();
        throw new InvalidOperationException("boom");
    }
}
