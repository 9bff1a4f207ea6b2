using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Tests.Stats;

public sealed class StreamTraceTests
{
    private static StreamTrace Trace(double sent, params double[] chunks) => new() { SentAt = sent, ChunkTimes = chunks, EndedAt = chunks.Length > 0 ? chunks[^1] : sent };

    [Fact]
    public void Ttft_is_from_sending_to_the_first_text()
    {
        Assert.Equal(0.25, Trace(1.0, 1.25, 1.5).TtftSeconds!.Value, 12);
        Assert.Null(Trace(1.0).TtftSeconds);
    }

    [Fact]
    public void Decode_rate_leaves_out_the_first_token()
    {
        // 5 tokens: the first at 1.0 s, the last at 1.4 s → 4 tokens in 0.4 s.
        var trace = Trace(0.5, 1.0, 1.1, 1.2, 1.3, 1.4);
        Assert.Equal(10.0, trace.DecodeTokensPerSecond!.Value, 9);
    }

    [Fact]
    public void Decode_rate_uses_the_reported_token_count_when_pieces_hold_several_tokens()
    {
        // 9 tokens in 3 pieces over 0.4 s, nothing said of their lengths: 3 tokens a piece, so 6 after the first in 0.4 s.
        var trace = Trace(0, 0.1, 0.3, 0.5) with { CompletionTokens = 9 };
        Assert.Equal(9, trace.Tokens);
        Assert.Equal(15.0, trace.DecodeTokensPerSecond!.Value, 9);
    }

    [Fact]
    public void Decode_rate_needs_two_tokens()
    {
        Assert.Null(Trace(0, 0.5).DecodeTokensPerSecond);
    }

    [Fact]
    public void Prompt_rate_is_prompt_tokens_over_ttft()
    {
        var trace = Trace(0, 0.5, 0.6) with { PromptTokens = 100 };
        Assert.Equal(200.0, trace.PromptTokensPerSecond!.Value, 9);
        Assert.Null(Trace(0, 0.5).PromptTokensPerSecond);
    }

    [Fact]
    public void Gaps_are_between_consecutive_pieces_and_can_be_windowed_by_their_end()
    {
        var trace = Trace(0, 1.0, 1.5, 1.75, 3.0);
        Assert.Equal([0.5, 0.25, 1.25], trace.InterTokenGaps());
        Assert.Equal([0.25], trace.InterTokenGapsEndingWithin(1.6, 3.0));
        Assert.Equal([0.5, 0.25], trace.InterTokenGapsEndingWithin(1.5, 2.0));
    }

    [Fact]
    public void A_trace_with_an_error_or_no_text_did_not_succeed()
    {
        Assert.True(Trace(0, 1).Succeeded);
        Assert.False(Trace(0).Succeeded);
        Assert.False((Trace(0, 1) with { Error = "HTTP 500" }).Succeeded);
    }
}
