using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sovereign.Bench.Reporting;
using Sovereign.Bench.Workloads;

namespace Sovereign.Bench.Tests.Workloads;

/// <summary>
/// The embeddings workload against a scripted /v1/embeddings on real Kestrel (127.0.0.1, port 0) that takes a fixed
/// 3 ms per request plus a tenth of a millisecond per text (so batching pays, as in a real model), and counts one
/// token per word.
/// </summary>
public sealed class EmbeddingsWorkloadTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private readonly List<string[]> _batches = [];
    private string _failFor = "";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/v1/embeddings", async (HttpContext context) =>
        {
            var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
            if ((string?)body["model"] == _failFor)
            {
                context.Response.StatusCode = 404;
                await context.Response.WriteAsync("""{"error":{"message":"The model does not exist.","type":"invalid_request_error"}}""");
                return;
            }
            var texts = body["input"]!.AsArray().Select(t => (string)t!).ToArray();
            lock (_batches) _batches.Add(texts);
            await Task.Delay(TimeSpan.FromMilliseconds(3 + 0.1 * texts.Length));
            var data = new JsonArray([.. texts.Select((_, i) => (JsonNode)new JsonObject
            {
                ["object"] = "embedding",
                ["index"] = i,
                ["embedding"] = new JsonArray(0.6, 0.8, 0.0, 0.0),
            })]);
            var tokens = texts.Sum(t => t.Split(' ').Length);
            await context.Response.WriteAsJsonAsync(new JsonObject
            {
                ["object"] = "list",
                ["data"] = data,
                ["model"] = "m",
                ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
            });
        });
        await _app.StartAsync();
    }

    private Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    [Fact]
    public async Task Each_batch_size_is_timed_with_distinct_texts_and_its_rates_and_ratios_reported()
    {
        var report = await EmbeddingsWorkload.RunAsync(new Uri(Address, "v1"), null, "m", TimeSpan.FromMilliseconds(50), 3, CancellationToken.None);

        Assert.Equal("measured", report.Status);
        Assert.Empty(report.Errors);
        Assert.Equal(4, report.Dimensions);
        Assert.Equal([1, 8, 32], report.Levels.Select(l => l.BatchSize));
        foreach (var level in report.Levels)
        {
            Assert.True(level.Requests >= 3);
            Assert.Equal(level.Requests * level.BatchSize, level.Texts);
            Assert.True(level.TextsPerSecond > 0);
            // One token per word, about WordsPerText words per text.
            Assert.InRange(level.TokensPerSecond!.Value / level.TextsPerSecond!.Value, EmbeddingsWorkload.WordsPerText * 0.5, EmbeddingsWorkload.WordsPerText * 2.0);
            Assert.NotNull(level.RequestMs);
        }
        // Sizes as asked (a warm-up first at each size), and no text sent twice.
        List<string[]> batches;
        lock (_batches) batches = [.. _batches];
        Assert.All(batches, b => Assert.Contains(b.Length, new[] { 1, 8, 32 }));
        var all = batches.SelectMany(b => b).ToArray();
        Assert.Equal(all.Length, all.Distinct().Count());
        // The fixed cost per request is shared by more texts: bigger batches are faster per text.
        Assert.True(report.Batch32OverBatch1 > 1, $"batch 32 ÷ batch 1 = {report.Batch32OverBatch1}");
        Assert.NotNull(report.Batch8OverBatch1);
    }

    [Fact]
    public async Task An_endpoint_that_refuses_the_model_makes_the_workload_failed_with_its_message()
    {
        _failFor = "missing";

        var report = await EmbeddingsWorkload.RunAsync(Address, null, "missing", TimeSpan.Zero, 1, CancellationToken.None);

        Assert.Equal("failed", report.Status);
        Assert.Empty(report.Levels);
        Assert.Equal(3, report.Errors.Count);
        Assert.Contains("404", report.Errors[0]);
        Assert.Contains("The model does not exist.", report.Reason);
    }

    [Fact]
    public void The_markdown_report_has_an_embeddings_table_once_measured()
    {
        var report = new EmbeddingsReport { Status = "measured", Model = "all-minilm", Dimensions = 384, WordsPerText = 48, Batch32OverBatch1 = 4.5 };
        report.Levels.Add(new EmbeddingsLevel { BatchSize = 32, Requests = 3, Texts = 96, Seconds = 2, TextsPerSecond = 48, TokensPerSecond = 3000 });
        var md = new System.Text.StringBuilder();

        MarkdownReport.AppendEmbeddings(md, report);

        Assert.Contains("## Embeddings", md.ToString(), StringComparison.Ordinal);
        Assert.Contains("| 32 | 3 |", md.ToString(), StringComparison.Ordinal);
        Assert.Contains("all-minilm", md.ToString(), StringComparison.Ordinal);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();
}
