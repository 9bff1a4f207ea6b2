using Sovereign.Inference.Engine;

namespace Sovereign.Inference.Tests.Engine;

public class StopStringMatcherTests
{
    private static (string Emitted, bool Matched) Feed(StopStringMatcher m, params string[] pieces)
    {
        var emitted = "";
        foreach (var p in pieces)
            emitted += m.Push(p);
        return (emitted, m.Matched);
    }

    [Fact]
    public void Without_stop_strings_text_passes_straight_through()
    {
        var m = new StopStringMatcher([]);

        Assert.Equal("abc", m.Push("abc"));
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void A_stop_string_inside_one_piece_is_cut_with_the_text_after_it()
    {
        var (emitted, matched) = Feed(new StopStringMatcher(["END"]), "one two END three");

        Assert.True(matched);
        Assert.Equal("one two ", emitted);
    }

    [Fact]
    public void A_stop_string_split_across_pieces_is_never_emitted()
    {
        var m = new StopStringMatcher(["\n\nUser:"]);

        Assert.Equal("Hello", m.Push("Hello\n"));
        Assert.Equal("", m.Push("\nUs"));
        Assert.Equal("", m.Push("er"));
        Assert.False(m.Matched);
        Assert.Equal("", m.Push(": more"));
        Assert.True(m.Matched);
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void Held_text_is_released_as_soon_as_it_can_no_longer_start_a_stop_string()
    {
        var m = new StopStringMatcher(["STOP"]);

        Assert.Equal("a", m.Push("aST"));
        Assert.Equal(2, m.HeldLength);
        Assert.Equal("STa", m.Push("a"));
        Assert.Equal(0, m.HeldLength);
    }

    [Fact]
    public void With_several_stop_strings_the_earliest_match_wins()
    {
        var (emitted, matched) = Feed(new StopStringMatcher(["world", "lo w"]), "hel", "lo wor", "ld");

        Assert.True(matched);
        Assert.Equal("hel", emitted);
    }

    [Fact]
    public void Overlapping_candidates_hold_back_the_longest_possible_start()
    {
        var m = new StopStringMatcher(["abcd", "bcx"]);

        Assert.Equal("", m.Push("abc"));
        Assert.Equal("a", m.Push("x"));
        Assert.True(m.Matched);
    }

    [Fact]
    public void A_partial_prefix_is_released_at_the_end_of_the_stream()
    {
        var m = new StopStringMatcher(["</answer>"]);

        Assert.Equal("42 ", m.Push("42 </ans"));
        Assert.False(m.Matched);
        Assert.Equal("</ans", m.Flush());
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void Input_after_a_match_is_ignored()
    {
        var m = new StopStringMatcher(["x"]);
        m.Push("ax");

        Assert.Equal("", m.Push("more"));
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void Empty_stop_strings_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new StopStringMatcher(["ok", ""]));
    }
}
