using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sovereign.Bench.Driver;

namespace Sovereign.Bench.Tests.Driver;

/// <summary>The driver against a scripted OpenAI-style endpoint on real Kestrel (127.0.0.1, port 0).</summary>
public sealed class OpenAiStreamClientTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private readonly List<JsonObject> _requests = [];
    private readonly List<string> _connections = [];
    private bool _refuseIgnoreEos;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/v1/completions", async (HttpContext context) =>
        {
            var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
            lock (_requests) _requests.Add(body);
            lock (_connections) _connections.Add(context.Connection.Id);
            if (context.Request.Headers.Authorization != "Bearer k-123")
            {
                context.Response.StatusCode = 401;
                await context.Response.WriteAsync("""{"error":{"message":"bad key"}}""");
                return;
            }
            if (_refuseIgnoreEos && body.ContainsKey("ignore_eos"))
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsync("""{"error":{"message":"Unrecognized request argument supplied: ignore_eos"}}""");
                return;
            }
            context.Response.ContentType = "text/event-stream";
            var n = (int)body["max_tokens"]!;
            var endless = (string?)body["prompt"] == "endless";
            for (var i = 0; i < n; i++)
            {
                if (endless && i == 2) await _release.Task.WaitAsync(context.RequestAborted);
                await context.Response.WriteAsync($"data: {{\"choices\":[{{\"text\":\"t{i}\",\"index\":0,\"finish_reason\":null}}]}}\n\n");
                await context.Response.Body.FlushAsync();
            }
            await context.Response.WriteAsync("data: {\"choices\":[{\"text\":\"\",\"index\":0,\"finish_reason\":\"length\"}]}\n\n");
            await context.Response.WriteAsync($"data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":7,\"completion_tokens\":{n},\"total_tokens\":{n + 7}}}}}\n\n");
            await context.Response.WriteAsync("data: [DONE]\n\n");
        });
        _app.MapGet("/health", (HttpContext context) =>
        {
            lock (_connections) _connections.Add(context.Connection.Id);
            return Results.Json(new { status = "ok", backend = "scripted" });
        });
        await _app.StartAsync();
    }

    private Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    [Fact]
    public async Task A_stream_is_timed_piece_by_piece_with_the_reported_usage()
    {
        using var client = new OpenAiStreamClient(new Uri(Address, "v1/"), "k-123", new BenchClock());
        var seen = 0;
        var trace = await client.CompleteAsync(new CompletionCall("m", "Once upon a time", 5) { OnText = _ => seen++ }, CancellationToken.None);

        Assert.True(trace.Succeeded, trace.Error);
        Assert.Equal(5, trace.ChunkTimes.Count);
        Assert.Equal(5, seen);
        Assert.Equal(5, trace.CompletionTokens);
        Assert.Equal(7, trace.PromptTokens);
        Assert.Equal("length", trace.FinishReason);
        Assert.True(trace.ChunkTimes.Zip(trace.ChunkTimes.Skip(1)).All(p => p.First <= p.Second));
        Assert.True(trace.SentAt <= trace.ChunkTimes[0]);

        var request = _requests.Single();
        Assert.Equal("m", (string?)request["model"]);
        Assert.Equal(5, (int)request["max_tokens"]!);
        Assert.Equal(0, (int)request["temperature"]!);
        Assert.True((bool)request["stream"]!);
        Assert.True((bool)request["ignore_eos"]!);
        Assert.True((bool)request["stream_options"]!["include_usage"]!);
    }

    [Fact]
    public async Task An_endpoint_that_refuses_ignore_eos_is_measured_without_it()
    {
        _refuseIgnoreEos = true;
        using var client = new OpenAiStreamClient(Address, "k-123", new BenchClock());
        var trace = await client.CompleteAsync(new CompletionCall("m", "p", 3), CancellationToken.None);

        Assert.True(trace.Succeeded, trace.Error);
        Assert.False(client.IgnoreEosAccepted);
        Assert.Equal(2, _requests.Count);
        Assert.False(_requests[1].ContainsKey("ignore_eos"));
    }

    [Fact]
    public async Task An_error_status_is_recorded_not_thrown()
    {
        using var client = new OpenAiStreamClient(Address, "wrong", new BenchClock());
        var trace = await client.CompleteAsync(new CompletionCall("m", "p", 3), CancellationToken.None);
        Assert.False(trace.Succeeded);
        Assert.Equal("HTTP 401: bad key", trace.Error);
    }

    [Fact]
    public async Task Stopping_a_stream_returns_what_arrived_as_a_success()
    {
        using var client = new OpenAiStreamClient(Address, "k-123", new BenchClock());
        using var stop = new CancellationTokenSource();
        var two = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var count = 0;
        var call = new CompletionCall("m", "endless", 1000) { Stop = stop.Token, OnText = _ => { if (++count == 2) two.TrySetResult(); } };
        var running = client.CompleteAsync(call, CancellationToken.None);
        await two.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        var trace = await running.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(trace.Succeeded, trace.Error);
        Assert.Equal("stopped", trace.FinishReason);
        Assert.Equal(2, trace.ChunkTimes.Count);
    }

    [Fact]
    public async Task A_stream_that_outlives_its_timeout_is_recorded_as_failed_with_what_arrived()
    {
        using var client = new OpenAiStreamClient(Address, "k-123", new BenchClock());
        var call = new CompletionCall("m", "endless", 1000) { Timeout = TimeSpan.FromSeconds(1) };
        var trace = await client.CompleteAsync(call, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(trace.Succeeded);
        Assert.Equal("no answer within 1 s", trace.Error);
        Assert.Equal(2, trace.ChunkTimes.Count);
    }

    [Fact]
    public async Task Cancelling_the_run_abandons_a_stream_with_OperationCanceledException()
    {
        using var client = new OpenAiStreamClient(Address, "k-123", new BenchClock());
        using var run = new CancellationTokenSource();
        var two = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var count = 0;
        var running = client.CompleteAsync(new CompletionCall("m", "endless", 1000) { OnText = _ => { if (++count == 2) two.TrySetResult(); } }, run.Token);
        await two.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await run.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Health_is_read_as_json_and_a_missing_document_is_null()
    {
        using var client = new OpenAiStreamClient(Address, null, new BenchClock());
        Assert.Equal("scripted", (string?)(await client.TryGetJsonAsync("health", CancellationToken.None))!["backend"]);
        Assert.Null(await client.TryGetJsonAsync("nothing-here", CancellationToken.None));
    }

    [Fact]
    public async Task A_stream_after_a_health_check_reads_on_a_connection_of_its_own()
    {
        using var client = new OpenAiStreamClient(new Uri(Address, "v1/"), "k-123", new BenchClock());
        Assert.NotNull(await client.TryGetJsonAsync("health", CancellationToken.None));
        var trace = await client.CompleteAsync(new CompletionCall("m", "Once upon a time", 3), CancellationToken.None);

        // The health check's connection was used asynchronously; a stream handed it would read through the socket engine.
        Assert.True(trace.Succeeded, trace.Error);
        lock (_connections) Assert.Equal(2, _connections.Distinct().Count());
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://127.0.0.1:8080/", "http://127.0.0.1:8080/")]
    [InlineData("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/")]
    [InlineData("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/")]
    [InlineData("http://127.0.0.1:8080/proxy/v1", "http://127.0.0.1:8080/proxy/")]
    public void Base_addresses_lose_a_trailing_v1(string given, string expected)
    {
        Assert.Equal(expected, OpenAiStreamClient.NormaliseBase(new Uri(given)).ToString());
    }

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        await _app.DisposeAsync();
    }
}
