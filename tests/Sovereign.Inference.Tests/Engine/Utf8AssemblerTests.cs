using System.Text;
using Sovereign.Inference.Engine;

namespace Sovereign.Inference.Tests.Engine;

public class Utf8AssemblerTests
{
    [Fact]
    public void A_multi_byte_character_split_across_tokens_is_held_back_until_complete()
    {
        var a = new Utf8Assembler();
        var bytes = Encoding.UTF8.GetBytes("你"); // E4 BD A0

        Assert.Equal("", a.Append(bytes.AsSpan(0, 1)).ToString());
        Assert.Equal("", a.Append(bytes.AsSpan(1, 1)).ToString());
        Assert.Equal("你", a.Append(bytes.AsSpan(2, 1)).ToString());
    }

    [Fact]
    public void Complete_text_before_a_split_character_is_released_at_once()
    {
        var a = new Utf8Assembler();
        var bytes = Encoding.UTF8.GetBytes("ok 😀"); // the emoji is 4 bytes

        Assert.Equal("ok ", a.Append(bytes.AsSpan(0, 5)).ToString());
        Assert.Equal("😀", a.Append(bytes.AsSpan(5)).ToString());
    }

    [Fact]
    public void Invalid_bytes_become_replacement_characters_without_stopping_the_stream()
    {
        var a = new Utf8Assembler();

        Assert.Equal("a\uFFFDb", a.Append([(byte)'a', 0xFF, (byte)'b']).ToString());
        // A lead byte followed by something that is not a continuation byte.
        Assert.Equal("\uFFFDc", a.Append([0xE4, (byte)'c']).ToString());
        Assert.Equal("d", a.Append([(byte)'d']).ToString());
    }

    [Fact]
    public void An_unfinished_character_at_the_end_becomes_one_replacement_character()
    {
        var a = new Utf8Assembler();

        Assert.Equal("x", a.Append([(byte)'x', 0xE4, 0xBD]).ToString());
        Assert.Equal("\uFFFD", a.Flush().ToString());
    }
}
