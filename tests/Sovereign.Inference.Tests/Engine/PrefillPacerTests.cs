using Sovereign.Inference.Engine;

namespace Sovereign.Inference.Tests.Engine;

public sealed class PrefillPacerTests
{
    private static readonly TimeSpan Target = TimeSpan.FromMilliseconds(250);

    [Fact]
    public void With_nothing_generating_the_budget_is_the_whole_chunk()
    {
        var pacer = Learned();
        Assert.Equal(256, pacer.Budget(decodeTokens: 0));
    }

    [Fact]
    public void Before_a_prompt_token_cost_is_known_the_budget_is_the_whole_chunk()
    {
        var pacer = new PrefillPacer(256, Target, slots: 8);
        pacer.Observe(0, 7, TimeSpan.FromMilliseconds(100));
        Assert.Equal(256, pacer.Budget(7));
    }

    [Fact]
    public void While_streams_generate_the_budget_fills_what_the_target_leaves_after_their_decode()
    {
        // 7 decode tokens take 100 ms; a prompt token 2 ms more: (250 − 100) / 2 = 75 tokens.
        var pacer = Learned();
        Assert.Equal(75, pacer.Budget(7));
    }

    [Fact]
    public void A_decode_count_never_seen_is_scaled_from_the_nearest_smaller_one()
    {
        // 8 decode tokens: 100 ms × 8 / 7 ≈ 114.3 ms; (250 − 114.3) / 2 = 67.8 → 67.
        var pacer = Learned();
        Assert.Equal(67, pacer.Budget(8));
    }

    [Fact]
    public void Decoding_that_alone_outlasts_the_target_still_leaves_the_least_chunk()
    {
        var pacer = Learned();
        pacer.Observe(0, 2, TimeSpan.FromMilliseconds(400));
        Assert.Equal(PrefillPacer.MinimumChunk, pacer.Budget(2));
    }

    [Fact]
    public void A_cheap_prompt_token_keeps_the_whole_chunk()
    {
        // A GPU, say: 0.01 ms a prompt token.
        var pacer = new PrefillPacer(256, Target, slots: 8);
        pacer.Observe(0, 7, TimeSpan.FromMilliseconds(10));
        pacer.Observe(256, 7, TimeSpan.FromMilliseconds(12.56));
        Assert.Equal(256, pacer.Budget(7));
    }

    [Fact]
    public void A_zero_target_turns_pacing_off()
    {
        var pacer = new PrefillPacer(256, TimeSpan.Zero, slots: 8);
        pacer.Observe(0, 7, TimeSpan.FromMilliseconds(100));
        pacer.Observe(100, 7, TimeSpan.FromMilliseconds(300));
        Assert.Equal(256, pacer.Budget(7));
    }

    [Fact]
    public void The_cost_follows_recent_steps()
    {
        // Attention grows with the prompt: later chunks cost more per token, and the budget shrinks with them.
        // (250 − 100) / 2 = 75 tokens at first; at 2.2 ms a token (250 − 100) / 2.2 = 68.
        var pacer = Learned();
        for (var i = 0; i < 20; i++)
            pacer.Observe(75, 7, TimeSpan.FromMilliseconds(100 + 75 * 2.2));
        Assert.InRange(pacer.Budget(7), 67, 69);
    }

    [Fact]
    public void Steps_with_a_handful_of_prompt_tokens_teach_nothing()
    {
        var pacer = Learned();
        pacer.Observe(3, 7, TimeSpan.FromMilliseconds(5_000));
        Assert.Equal(75, pacer.Budget(7));
    }

    /// <summary>7 decode tokens take 100 ms; a prompt token 2 ms more.</summary>
    private static PrefillPacer Learned()
    {
        var pacer = new PrefillPacer(256, Target, slots: 8);
        pacer.Observe(0, 7, TimeSpan.FromMilliseconds(100));
        pacer.Observe(100, 7, TimeSpan.FromMilliseconds(300));
        return pacer;
    }
}
