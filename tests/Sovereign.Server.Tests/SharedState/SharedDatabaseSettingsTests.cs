using Microsoft.Extensions.Options;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.SharedState;

/// <summary>A bad SOV_DATABASE stops the server before it listens, with a message that names the setting.</summary>
public sealed class SharedDatabaseSettingsTests
{
    [Fact]
    public async Task A_malformed_connection_string_fails_validation_naming_the_setting_and_not_echoing_it()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestHost.StartAsync(settings: ["--Sovereign:Database=Password=hunter2-secret;Bogus Setting=1"]));
        Assert.Contains("Sovereign:Database (SOV_DATABASE)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_database_stops_the_start_naming_the_setting_and_the_host()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            TestHost.StartAsync(settings: ["--Sovereign:Database=Host=127.0.0.1;Port=1;Database=sovereign;Timeout=3"]));
        Assert.Contains("SOV_DATABASE", error.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:1/sovereign", error.Message, StringComparison.Ordinal);
    }
}
