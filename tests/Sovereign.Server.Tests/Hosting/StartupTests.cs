using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Hosting;

public sealed class StartupTests
{
    [Fact]
    public async Task Port_zero_listens_on_a_real_port_and_logs_it_as_ASPNET_does()
    {
        var logs = new CapturingLoggerProvider();
        await using var host = await TestHost.StartAsync(
            settings: ["--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information"],
            configure: b => b.Logging.AddProvider(logs));

        Assert.NotEqual(0, host.Address.Port);
        Assert.Contains($"Now listening on: http://127.0.0.1:{host.Address.Port}", logs.Messages);
    }

    [Fact]
    public async Task Without_urls_the_server_listens_on_loopback_8080_and_urls_override_it()
    {
        var home = TestHost.NewHome();
        try
        {
            await using (var byDefault = SovereignServer.Build([$"--Sovereign:Home={home}"]))
                Assert.Equal(SovereignServer.DefaultUrl, byDefault.Configuration[WebHostDefaults.ServerUrlsKey]);

            await using var overridden = SovereignServer.Build(["--urls", "http://127.0.0.1:9999", $"--Sovereign:Home={home}"]);
            Assert.Equal("http://127.0.0.1:9999", overridden.Configuration[WebHostDefaults.ServerUrlsKey]);
        }
        finally
        {
            TestHost.TryDelete(home);
        }
    }

    [Fact]
    public async Task Start_up_creates_the_data_folder()
    {
        var parent = TestHost.NewHome();
        var home = Path.Combine(parent, "nested", "data");
        try
        {
            await using var host = await TestHost.StartAsync(home);
            Assert.True(File.Exists(Path.Combine(home, "sovereign.db")));
        }
        finally
        {
            TestHost.TryDelete(parent);
        }
    }

    [Fact]
    public async Task Bad_settings_stop_start_up_with_every_setting_and_value_named()
    {
        var home = TestHost.NewHome();
        try
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(() => TestHost.StartAsync(home, adminKey: "too-short",
                settings: ["--Sovereign:Engine:Slots=0", "--Sovereign:Limits:MaxRequestBytes=10"]));

            var message = Flatten(error);
            Assert.Contains("Sovereign:Engine:Slots = '0'", message, StringComparison.Ordinal);
            Assert.Contains("Sovereign:Limits:MaxRequestBytes = '10'", message, StringComparison.Ordinal);
            Assert.Contains("Sovereign:AdminKey = (hidden, 9 characters)", message, StringComparison.Ordinal);
            Assert.DoesNotContain("too-short", message, StringComparison.Ordinal);
        }
        finally
        {
            TestHost.TryDelete(home);
        }
    }

    private static string Flatten(Exception e) => e is AggregateException a
        ? string.Join("\n", a.InnerExceptions.Select(Flatten))
        : e.Message + (e.InnerException is { } inner ? "\n" + Flatten(inner) : "");

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _messages = new();

        public IReadOnlyCollection<string> Messages => _messages;

        public ILogger CreateLogger(string categoryName) => new Logger(_messages);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception));
        }
    }
}
