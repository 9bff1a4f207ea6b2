using Sovereign.Bench.Hosting;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Cluster.Nodes;
using Sovereign.Cluster.Routing;
using Sovereign.Core.Options;
using Sovereign.Inference.Hosting;
using Sovereign.Models.Store;
using Sovereign.Server;

namespace Sovereign.Cluster.Tests.Support;

/// <summary>
/// One real Sovereign server in this process, joined to a cluster through a real Redis: its own data folder and model
/// store, its own engine (runner processes), HTTP on 127.0.0.1 port 0 and an Orleans node port of its own.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    public const string AdminKey = "sov-test-admin-key-0123456789abcdef";
    public const string Model = "stories";
    public const string Secret = "cluster-test-secret-0123456789";

    private WebApplication? _app;

    private ClusterNode(WebApplication app, string name, string home, Uri baseAddress)
    {
        _app = app;
        Name = name;
        Home = home;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
    }

    public string Name { get; }
    public string Home { get; }
    public HttpClient Http { get; }
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException($"Node {Name} is stopped.");
    public ModelManager Engine => Services.GetRequiredService<ModelManager>();
    public ClusterInferenceService Router => Services.GetRequiredService<ClusterInferenceService>();
    public ClusterDirectory Directory => Services.GetRequiredService<ClusterDirectory>();
    public LocalNode Local => Services.GetRequiredService<LocalNode>();
    public bool Running => _app is not null;

    /// <summary>Starts a node; <paramref name="withModel"/> imports stories260K into its own store as "stories".</summary>
    public static async Task<ClusterNode> StartAsync(string name, string redis, bool withModel, params string[] settings)
    {
        var home = Path.Combine(Path.GetTempPath(), $"sov-cluster-{name}-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(home);
        if (withModel)
            await new FileModelStore(new SovereignPaths(home)).ImportAsync(TestModels.Stories260K, ModelName.Parse(Model));

        string[] args = ["--urls", "http://127.0.0.1:0", $"--Sovereign:Home={home}", $"--Sovereign:AdminKey={AdminKey}",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Orleans=Error", "--Sovereign:Engine:Slots=2", "--Sovereign:Engine:ContextSize=512",
            "--Sovereign:Engine:Threads=1", $"--Sovereign:ClusterRedis={redis}", $"--Sovereign:ClusterSecret={Secret}",
            $"--Sovereign:ClusterPort={RedisProcess.FreePort()}", $"--Sovereign:ClusterNodeName={name}", "--Sovereign:ClusterCallTimeout=00:00:15",
            .. settings];
        var app = SovereignServer.Build(args);
        await app.StartAsync();
        // As `sov serve` (RunAsync) does: when the node asks to stop (after a drain), the host stops.
        _ = Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(app);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ClusterNode(app, name, home, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>A greedy completion through this node's OpenAI API; returns the text.</summary>
    public async Task<string> CompleteAsync(string prompt = "Once upon a time", int maxTokens = 24)
    {
        using var response = await Http.PostAsJsonAsync("v1/completions", new { model = Model, prompt, max_tokens = maxTokens, temperature = 0 });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} from {Name}: {body}");
        return JsonNode.Parse(body)!["choices"]![0]!["text"]!.GetValue<string>();
    }

    /// <summary>Stops the node as a crash would: no goodbye to the cluster, its runner processes ended.</summary>
    public async Task KillAsync()
    {
        var app = _app!;
        _app = null;
        try
        {
            await app.StopAsync(new CancellationToken(canceled: true));
        }
        catch (OperationCanceledException)
        {
            // An ungraceful stop reports itself as cancelled; that is the point.
        }
        await app.DisposeAsync();
    }

    /// <summary>Waits (bounded) until the node's host has stopped by itself, as after a drain.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        var lifetime = Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>();
        var stopped = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStopped.Register(() => stopped.TrySetResult());
        return await Task.WhenAny(stopped.Task, Task.Delay(timeout)) == stopped.Task;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (_app is { } app)
        {
            _app = null;
            try
            {
                await app.StopAsync();
            }
            catch (OperationCanceledException)
            {
                // After a peer was killed, Orleans' graceful stop can outlast the host's shutdown timeout while it
                // waits on calls to the peer not yet declared dead; the host then ends the silo ungracefully, as `sov
                // serve` would. The test's assertions are already made, so the cut-off stop is not its failure.
            }
            await app.DisposeAsync();
        }
        try
        {
            System.IO.Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class TestModels
{
    public static string Stories260K => Sovereign.TestSupport.Models.SharedModels.Stories260K;
}
