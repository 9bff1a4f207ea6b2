using Sovereign.Server.Ollama;

namespace Sovereign.Server.Tests.Ollama;

/// <summary>keep_alive strings are Go durations, parsed as Go's time.ParseDuration does.</summary>
public sealed class GoDurationTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("5m", 300)]
    [InlineData("1h30m", 5400)]
    [InlineData("1h30m15s", 5415)]
    [InlineData("2.5s", 2.5)]
    [InlineData("1.5h", 5400)]
    [InlineData("300ms", 0.3)]
    [InlineData("1500us", 0.0015)]
    [InlineData("1500µs", 0.0015)]
    [InlineData("+10s", 10)]
    [InlineData("-1m", -60)]
    [InlineData(" 24h ", 86400)]
    public void Valid_durations_parse(string text, double seconds)
    {
        Assert.True(OllamaRequestMapper.TryParseGoDuration(text, out var value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("m")]
    [InlineData("5d")]
    [InlineData("five minutes")]
    [InlineData("1h-30m")]
    [InlineData("--5m")]
    public void Invalid_durations_do_not_parse(string text) => Assert.False(OllamaRequestMapper.TryParseGoDuration(text, out _));

    [Fact]
    public void Huge_durations_are_clamped() =>
        Assert.True(OllamaRequestMapper.TryParseGoDuration("99999999999999999h", out var value) && value == TimeSpan.MaxValue);
}
