using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Core.Processes;
using Sovereign.Inference.Engine;

namespace Sovereign.Inference.Runner;

/// <summary>
/// The runner process: loads one model into a <see cref="LlamaEngine"/> and serves it on two Unix sockets: gRPC for
/// everything but generation, and <see cref="GenerationStreamServer"/>'s for generation.
/// It lives apart from the server because llama.cpp can abort the whole process on inputs it dislikes; here
/// such an abort costs only this model's in-flight requests.
/// </summary>
public static class RunnerHost
{
    /// <summary>Printed on standard output once the socket accepts calls; the server waits for it.</summary>
    public const string ReadyLine = "SOVEREIGN-RUNNER-READY";

    /// <summary>Runs until the server ends the process or the server itself disappears. Returns the exit code.</summary>
    public static async Task<int> RunAsync(RunnerSettings settings)
    {
        // :: Step 1: load the model before listening, so "ready" means ready to generate.
        LlamaEngine engine;
        try
        {
            engine = LlamaEngine.Load(settings.Engine);
        }
        catch (SovereignException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 3;
        }

        using (engine)
        {
            // :: Step 2: serve gRPC and generation on Unix sockets (nothing listens on the network).
            if (File.Exists(settings.SocketPath)) File.Delete(settings.SocketPath);
            // The runner's settings come from its parent, not from files: no appsettings.json is looked for in the
            // working directory, and so no watcher wakes the runner on every write under it.
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
            {
                Args = ["--hostBuilder:reloadConfigOnChange=false"],
                ContentRootPath = AppContext.BaseDirectory,
            });
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
            builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(settings.SocketPath, l => l.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc(o =>
            {
                o.MaxReceiveMessageSize = 64 * 1024 * 1024;
                o.EnableDetailedErrors = true;
            });
            builder.Services.AddSingleton(engine);
            builder.Services.AddSingleton(settings);
            var app = builder.Build();
            app.MapGrpcService<RunnerService>();
            await app.StartAsync();
            await using var generation = GenerationStreamServer.Start(settings.GenerationSocketPath, engine,
                app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Sovereign.Runner"));
            Console.Out.WriteLine(ReadyLine);
            await Console.Out.FlushAsync();

            // :: Step 3: live as long as the server does.
            using var parentGone = new CancellationTokenSource();
            _ = WatchParentAsync(settings.ParentProcessId, parentGone);
            var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(parentGone.Token, lifetime.ApplicationStopping);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            await app.StopAsync(TimeSpan.FromSeconds(2));
            await app.DisposeAsync();
            if (File.Exists(settings.SocketPath)) File.Delete(settings.SocketPath);
        }
        return 0;
    }

    private static async Task WatchParentAsync(int parentId, CancellationTokenSource gone)
    {
        await ParentProcess.WaitUntilGoneAsync(parentId, CancellationToken.None);
        await gone.CancelAsync();
    }
}
