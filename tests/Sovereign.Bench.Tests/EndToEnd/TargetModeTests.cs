using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sovereign.Bench.Tests.EndToEnd;

/// <summary>
/// `--target`: the same workloads against any OpenAI-compatible endpoint, here a scripted one on real Kestrel
/// (127.0.0.1, port 0) that answers after a fifth of a millisecond per prompt token, then streams a token every couple of
/// milliseconds, counts one prompt token per word, and stops
/// when the client goes away. No raw baseline (the endpoint's model file is its own), so no overhead_ratio.
/// </summary>
public sealed class TargetModeTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private readonly string _out = Path.Combine(Path.GetTempPath(), "sov-bench-target-" + Guid.NewGuid().ToString("N")[..8]);
    private int _requests;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapGet("/health", () => Results.Json(new { status = "ok", backend = "scripted backend", version = "9.9.9" }));
        _app.MapPost("/v1/completions", async (HttpContext context) =>
        {
            Interlocked.Increment(ref _requests);
            var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
            var promptTokens = 1 + ((string)body["prompt"]!).Split(' ').Length;
            var n = (int)body["max_tokens"]!;
            context.Response.ContentType = "text/event-stream";
            var aborted = context.RequestAborted;
            try
            {
                // "Prefill": a fifth of a millisecond per prompt token, so the long prompt takes a while to answer.
                await Task.Delay(promptTokens / 5, aborted);
                for (var i = 0; i < n; i++)
                {
                    await Task.Delay(2, aborted);
                    await context.Response.WriteAsync($"data: {{\"choices\":[{{\"text\":\" w{i}\",\"index\":0,\"finish_reason\":null}}]}}\n\n", aborted);
                    await context.Response.Body.FlushAsync(aborted);
                }
                await context.Response.WriteAsync("data: {\"choices\":[{\"text\":\"\",\"index\":0,\"finish_reason\":\"length\"}]}\n\n", aborted);
                await context.Response.WriteAsync($"data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":{promptTokens},\"completion_tokens\":{n},\"total_tokens\":{promptTokens + n}}}}}\n\n", aborted);
                await context.Response.WriteAsync("data: [DONE]\n\n", aborted);
            }
            catch (OperationCanceledException)
            {
                // The client stopped the stream (the interference workload's background streams).
            }
        });
        await _app.StartAsync();
    }

    [Fact]
    public async Task A_target_endpoint_gets_the_sweep_interference_and_arrivals_but_no_raw_baseline()
    {
        var address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/v1");
        var options = new BenchOptions
        {
            Target = address,
            Models = ["peer-model"],
            OutputDirectory = _out,
            Tokens = 8,
            Repetitions = 1,
            Concurrency = [1, 4, 8],
            PromptTokens = 32,
            LongPromptTokens = 300,
            ContextSize = 2048,
        };

        var run = await BenchRunner.RunAsync(options);

        var model = Assert.Single(run.Report.Models);
        Assert.Equal("target", run.Report.Mode);
        Assert.Equal("scripted backend", run.Report.Backend);
        Assert.Equal("9.9.9", run.Report.ServerVersion);
        Assert.True(run.Report.IgnoreEosAccepted);
        Assert.Null(model.Raw);
        Assert.Null(model.OverheadRatio);
        Assert.Contains(model.Errors, e => e.Contains("no raw baseline", StringComparison.Ordinal));
        Assert.Equal(8, model.Served!.CompletionTokens);
        // The scripted endpoint counts one prompt token per word plus one; the two probes find that line exactly.
        Assert.Equal(32, model.Served.PromptTokens);
        Assert.Equal([1, 4, 8], model.Concurrency.Select(c => c.Streams));
        Assert.All(model.Concurrency, c => Assert.Equal(c.Streams, c.Completed));
        Assert.NotNull(model.BatchingRatio4);
        Assert.NotNull(model.BatchingRatio8);
        var interference = model.Interference!;
        Assert.Equal(300, interference.LongPromptTokens);
        Assert.NotNull(interference.ItlBeforeMs);
        Assert.NotNull(interference.ItlDuringMs);
        Assert.Empty(interference.Errors);
        var arrivals = model.ArrivalsUnderLoad!;
        Assert.Equal(7, arrivals.BackgroundStreams);
        Assert.Equal(16, arrivals.Arrivals);
        Assert.Equal(16, arrivals.TtftMs!.Count);
        Assert.Empty(arrivals.Errors);
        Assert.NotNull(model.TtftP95ArrivingAt8OverUnloaded);
        Assert.Null(model.Memory);
        Assert.True(File.Exists(Path.Combine(_out, "results.json")));
        // Bounded: two probes, 32 warm-up requests, 1 warm-up + 1 run, 13 sweep streams, 7 background streams and the long
        // prompt, 7 background streams and 16 arrivals.
        Assert.Equal(2 + 32 + 2 + 13 + 7 + 1 + 7 + 16, _requests);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }
}
