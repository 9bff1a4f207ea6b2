using Sovereign.Bench.Driver;

namespace Sovereign.Bench.Tests.Driver;

public sealed class SseChunkTests
{
    [Fact]
    public void A_text_completion_chunk_has_text()
    {
        var chunk = SseChunk.Parse("""{"id":"cmpl-1","object":"text_completion","choices":[{"text":" Lily","index":0,"logprobs":null,"finish_reason":null}]}""");
        Assert.True(chunk.HasText);
        Assert.Null(chunk.FinishReason);
        Assert.Null(chunk.Error);
    }

    [Fact]
    public void A_chat_chunk_has_text_in_its_delta_and_the_opening_role_chunk_has_none()
    {
        Assert.True(SseChunk.Parse("""{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}""").HasText);
        Assert.False(SseChunk.Parse("""{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""").HasText);
    }

    [Fact]
    public void The_closing_chunk_carries_the_finish_reason_and_the_usage_chunk_the_counts()
    {
        var closing = SseChunk.Parse("""{"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"length"}]}""");
        Assert.False(closing.HasText);
        Assert.Equal("length", closing.FinishReason);

        var usage = SseChunk.Parse("""{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":64,"total_tokens":76}}""");
        Assert.Equal(12, usage.PromptTokens);
        Assert.Equal(64, usage.CompletionTokens);
    }

    [Fact]
    public void An_in_band_error_and_garbage_are_errors_not_exceptions()
    {
        Assert.Equal("The model was unloaded", SseChunk.Parse("""{"error":{"message":"The model was unloaded","type":"server_error"}}""").Error);
        Assert.StartsWith("not JSON", SseChunk.Parse("{oops").Error, StringComparison.Ordinal);
    }
}
