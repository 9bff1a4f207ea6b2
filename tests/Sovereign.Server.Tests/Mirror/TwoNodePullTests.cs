using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Models.Distribution;
using Sovereign.Models.Store;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Mirror;

/// <summary>
/// Two real servers on 127.0.0.1, each with its own port and data folder: node B pulls from node A through B's own
/// <see cref="IModelPuller"/>, with a key that has only the mirror scope on A. Faults are put between them by a small
/// proxy that cuts or damages A's answers.
/// </summary>
public sealed class TwoNodePullTests : IAsyncLifetime
{
    private TestHost _a = null!;
    private string _mirrorKey = null!;
    private ModelManifest _original = null!;

    public async Task InitializeAsync()
    {
        _a = await TestHost.StartAsync();
        _original = await new FileModelStore(_a.Paths).ImportAsync(TestFiles.Stories260K, ModelName.Parse("stories"), "llama3");
        (_, _mirrorKey) = await _a.CreateKeyAsync("node-b", "mirror");
    }

    public async Task DisposeAsync() => await _a.DisposeAsync();

    private Task<TestHost> StartNodeBAsync(string mirrors) =>
        TestHost.StartAsync(settings: [$"--Sovereign:Mirrors={mirrors}", $"--Sovereign:MirrorKey={_mirrorKey}"]);

    private static async Task<List<PullProgress>> PullAsync(TestHost node, string reference)
    {
        var reports = new List<PullProgress>();
        await foreach (var p in node.Services.GetRequiredService<IModelPuller>().PullAsync(reference)) reports.Add(p);
        return reports;
    }

    private static string[] ModelFiles(TestHost node) => Directory.Exists(node.Paths.Models)
        ? [.. Directory.GetFiles(node.Paths.Models, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(f => Path.GetFileName(f) != ".lock")]
        : [];

    [Fact]
    public async Task Node_B_pulls_a_model_from_node_A_and_the_manifest_metadata_survives()
    {
        await using var b = await StartNodeBAsync(_a.Address.ToString());

        var reports = await PullAsync(b, "stories");

        Assert.Equal("success", reports[^1].Status);
        var pulled = b.Services.GetRequiredService<IModelStore>().Get("stories:latest");
        Assert.Equal(_original with { Source = null }, pulled with { Source = null });
        Assert.Equal("llama3", pulled.ChatTemplateOverride);
        Assert.Equal($"{_a.Address.ToString().TrimEnd('/')}/stories:latest", pulled.Source);
        Assert.Equal(await File.ReadAllBytesAsync(TestFiles.Stories260K), await File.ReadAllBytesAsync(b.Paths.Blobs + $"/sha256-{pulled.Digest[7..]}"));
        await b.Services.GetRequiredService<IModelStore>().VerifyAsync(pulled);

        // B serves what it pulled, so it can feed a third node in turn.
        using var fromB = await b.AdminClient().GetAsync("v2/stories/manifests/latest");
        Assert.True(fromB.IsSuccessStatusCode);
    }

    [Fact]
    public async Task A_pull_cut_off_midway_resumes_from_node_A_with_a_range_request_and_verifies()
    {
        await using var proxy = await FaultyProxy.StartAsync(_a.Address);
        proxy.CutFirstBlobAfter = 400_000;
        await using var b = await StartNodeBAsync(proxy.Address.ToString());

        var cut = await Assert.ThrowsAsync<SovereignException>(() => PullAsync(b, "stories"));

        Assert.Equal("pull_interrupted", cut.Code);
        Assert.Null(b.Services.GetRequiredService<IModelStore>().Find("stories"));
        var partial = Assert.Single(ModelFiles(b));
        Assert.EndsWith("-partial", partial, StringComparison.Ordinal);
        var kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, _original.Size - 1);

        var reports = await PullAsync(b, "stories");

        Assert.Equal("success", reports[^1].Status);
        var resumed = proxy.Requests.Last(r => r.Path.EndsWith(_original.Digest, StringComparison.Ordinal));
        Assert.Equal($"bytes={kept}-", resumed.Range);
        Assert.Equal(206, resumed.UpstreamStatus);
        var pulled = b.Services.GetRequiredService<IModelStore>().Get("stories");
        await b.Services.GetRequiredService<IModelStore>().VerifyAsync(pulled);
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task A_corrupted_blob_between_the_nodes_is_rejected_and_node_B_shows_nothing_of_it()
    {
        await using var proxy = await FaultyProxy.StartAsync(_a.Address);
        proxy.CorruptBlobs = true;
        await using var b = await StartNodeBAsync(proxy.Address.ToString());

        var refused = await Assert.ThrowsAsync<SovereignException>(() => PullAsync(b, "stories"));

        Assert.Equal("digest_mismatch", refused.Code);
        Assert.Contains(_original.Digest, refused.Message, StringComparison.Ordinal);
        Assert.Empty(b.Services.GetRequiredService<IModelStore>().List());
        Assert.Empty(ModelFiles(b));
        using var models = await b.AdminClient().GetAsync("v1/models");
        Assert.DoesNotContain("stories", await models.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mirrors_given_as_one_comma_separated_setting_are_tried_in_order()
    {
        await using var b = await StartNodeBAsync($"http://127.0.0.1:1, {_a.Address}");

        await PullAsync(b, "stories");

        Assert.NotNull(b.Services.GetRequiredService<IModelStore>().Find("stories"));
    }

    [Fact]
    public async Task Without_the_mirror_key_node_A_refuses_and_node_B_says_which_setting_to_fix()
    {
        await using var b = await TestHost.StartAsync(settings: [$"--Sovereign:Mirrors={_a.Address}"]);

        var refused = await Assert.ThrowsAsync<SovereignException>(() => PullAsync(b, "stories"));

        Assert.Contains("HTTP 401", refused.Message, StringComparison.Ordinal);
        Assert.Contains("SOV_MIRROR_KEY", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Names_that_could_reach_outside_the_store_are_refused_before_node_A_is_asked()
    {
        await using var proxy = await FaultyProxy.StartAsync(_a.Address);
        await using var b = await StartNodeBAsync(proxy.Address.ToString());

        foreach (var name in new[] { "../stories", "/etc/passwd", "a/../../b", "a\\b", "stories:" + new string('t', 65), "stories:../x" })
        {
            var refused = await Assert.ThrowsAsync<SovereignException>(() => PullAsync(b, name));
            Assert.Equal("invalid_model_name", refused.Code);
        }
        Assert.Empty(proxy.Requests);
    }

    [Fact]
    public async Task A_mirror_setting_that_is_not_an_http_url_stops_start_up_naming_it()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestHost.StartAsync(settings: ["--Sovereign:Mirrors=ftp://node-a"]));

        Assert.Contains("Sovereign:Mirrors = 'ftp://node-a'", Flatten(error), StringComparison.Ordinal);
    }

    private static string Flatten(Exception e) => e is AggregateException a
        ? string.Join("\n", a.InnerExceptions.Select(Flatten))
        : e.Message + (e.InnerException is { } inner ? "\n" + Flatten(inner) : "");

    /// <summary>
    /// A proxy on 127.0.0.1 in front of a node: forwards GETs (with Authorization and Range), and on request cuts the first
    /// model-blob answer after some bytes or flips a byte of every model blob. Records what it forwarded. Thread-safe.
    /// </summary>
    private sealed class FaultyProxy : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly HttpClient _upstream = new() { Timeout = TimeSpan.FromSeconds(30) };
        private readonly ConcurrentQueue<Forwarded> _requests = new();
        private int _blobAnswers;

        private FaultyProxy(WebApplication app, Uri target, Uri address)
        {
            _app = app;
            Target = target;
            Address = address;
        }

        public sealed record Forwarded(string Path, string? Range, int UpstreamStatus);

        public Uri Target { get; }
        public Uri Address { get; }
        public IReadOnlyList<Forwarded> Requests => [.. _requests];
        public long? CutFirstBlobAfter { get; set; }
        public bool CorruptBlobs { get; set; }

        public static async Task<FaultyProxy> StartAsync(Uri target)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            FaultyProxy? proxy = null;
            app.Run(context => proxy!.ForwardAsync(context));
            await app.StartAsync();
            proxy = new FaultyProxy(app, target, new Uri(app.Urls.Single().TrimEnd('/') + "/"));
            return proxy;
        }

        public async ValueTask DisposeAsync()
        {
            _upstream.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private async Task ForwardAsync(HttpContext context)
        {
            var path = context.Request.Path.Value!.TrimStart('/');
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Target, path));
            foreach (var header in new[] { "Authorization", "Range", "Accept" })
            {
                if (context.Request.Headers.TryGetValue(header, out var value)) request.Headers.TryAddWithoutValidation(header, value.ToString());
            }
            using var response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            var range = context.Request.Headers.Range.ToString();
            _requests.Enqueue(new Forwarded("/" + path, range.Length > 0 ? range : null, (int)response.StatusCode));

            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Content.Headers) context.Response.Headers[name] = values.ToArray();
            var body = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
            var isModelBlob = path.Contains("/blobs/", StringComparison.Ordinal) && body.Length > 100_000;
            if (isModelBlob && CorruptBlobs) body[body.Length / 3] ^= 0xFF;
            if (isModelBlob && range.Length == 0 && CutFirstBlobAfter is { } cut && Interlocked.Increment(ref _blobAnswers) == 1)
            {
                await context.Response.Body.WriteAsync(body.AsMemory(0, (int)cut));
                await context.Response.Body.FlushAsync();
                await Task.Delay(50);
                context.Abort();
                return;
            }
            await context.Response.Body.WriteAsync(body);
        }
    }
}
