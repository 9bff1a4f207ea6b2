namespace Sovereign.Cli.Tests;

/// <summary>`sov serve` refuses bad settings at start-up with a message naming them, not a stack trace.</summary>
public sealed class ServeConfigurationTests
{
    [Theory]
    [InlineData("--Sovereign:Engine:Slots=0", "Slots")]
    [InlineData("--Sovereign:Engine:PrefillStallTarget=-00:00:01", "PrefillStallTarget")]
    public async Task An_invalid_setting_stops_start_up_with_one_clear_line(string setting, string named)
    {
        var home = Path.Combine(Path.GetTempPath(), "sov-cfg-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var result = await Sov.RunAsync(new Dictionary<string, string> { ["SOV_HOME"] = home },
                "serve", "--urls", "http://127.0.0.1:0", setting);

            Assert.Equal(1, result.ExitCode);
            Assert.Contains(named, result.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(home)) Directory.Delete(home, recursive: true);
        }
    }
}
