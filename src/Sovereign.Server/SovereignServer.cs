using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Sovereign.Cluster.Hosting;
using Sovereign.Server.Hosting;

namespace Sovereign.Server;

/// <summary>
/// The Sovereign HTTP host: the OpenAI-compatible API, the admin API and health, over the model store and the
/// engine. <c>sov serve</c> runs <c>await SovereignServer.Build(args).RunAsync()</c>; tests do the same on port 0.
/// </summary>
public static class SovereignServer
{
    /// <summary>Where the server listens when neither <c>--urls</c>, ASPNETCORE_URLS nor Kestrel endpoints say otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>Builds the server from command-line arguments (ASP.NET Core configuration syntax, e.g. <c>--urls</c>, <c>--Sovereign:Home=…</c>).</summary>
    public static WebApplication Build(string[] args) => Build(args, configure: null);

    /// <summary>
    /// Builds the server; <paramref name="configure"/> runs after Sovereign's own registrations, so hosts and tests
    /// can replace services (e.g. the inference service) before the app is built.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure)
    {
        ArgumentNullException.ThrowIfNull(args);
        // appsettings.json is read from the working directory once, at start, where its values are validated; a reload
        // would need a watcher on every folder below that directory (1,600 inotify watches from the repository, and
        // more than the system allows from a home folder), woken by every write there, the data folder's included.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false", .. args] });

        // :: Step 1: configuration. SOV_* environment variables rank above appsettings and ASPNETCORE_* variables,
        //    and the command line is added again so that it still wins over them.
        builder.Configuration.AddInMemoryCollection(SovEnvironmentVariables.Map(Environment.GetEnvironmentVariables()));
        builder.Configuration.AddCommandLine(args);

        // :: Step 2: a loopback-only default address, unless the operator named one the ASP.NET way.
        if (!NamesAnAddress(builder.Configuration)) builder.WebHost.UseUrls(DefaultUrl);
        // Kestrel sends on the thread that flushes instead of through its I/O queue, so a streamed token goes out from
        // the generation's reading thread (RunnerEventStream) with no further wake-up: on 2 cores the server's CPU per
        // streamed token fell from 0.4–0.5 ms to 0.25–0.3 ms. "Unsafe" as request code then also runs on the pool worker
        // that received its bytes, holding up that connection's next read; that worker would be a pool worker anyway.
        builder.WebHost.UseSockets(transport => transport.UnsafePreferInlineScheduling = true);

        // :: Step 3: services (in cluster mode, a node of the cluster), then the caller's replacements.
        builder.Services.AddSovereignServer();
        builder.Services.AddSovereignSharedState(builder.Configuration);
        builder.AddSovereignCluster();
        configure?.Invoke(builder);

        // :: Step 4: the pipeline: OpenAI-shaped errors outermost, then API-key authentication, then the endpoints.
        var app = builder.Build();
        app.MapSovereignServer();
        return app;
    }

    private static bool NamesAnAddress(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.ServerUrlsKey])
        || !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.HttpPortsKey])
        || !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.HttpsPortsKey])
        || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
}
