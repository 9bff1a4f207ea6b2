using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Sovereign.Server.Tests.EndToEnd;

/// <summary>Slots, queue bounds, cancellation and runner crashes, each on a server of its own with tight limits.</summary>
public sealed class EngineLimitsTests
{
    /// <summary>A stream that cannot end by itself soon: end-of-sequence ignored, many tokens.</summary>
    private static JsonObject LongStream(int maxTokens = 1500) => new()
    {
        ["model"] = SovereignTestServer.Model,
        ["prompt"] = "Once upon a time",
        ["max_tokens"] = maxTokens,
        ["temperature"] = 0,
        ["ignore_eos"] = true,
        ["stream"] = true,
    };

    private static HttpRequestMessage Post(object body) => new(HttpMethod.Post, "v1/completions") { Content = JsonContent.Create(body) };

    /// <summary>Opens a stream and reads until its first content chunk, so the request is known to hold a slot.</summary>
    private static async Task<(HttpResponseMessage Response, StreamReader Reader)> OpenRunningStreamAsync(SovereignTestServer server, CancellationToken ct)
    {
        var response = await server.Http.SendAsync(Post(LongStream()), HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("data: {", StringComparison.Ordinal) && line.Contains("\"text\":\"", StringComparison.Ordinal) && !line.Contains("\"text\":\"\"", StringComparison.Ordinal)) break;
        }
        return (response, reader);
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after()
    {
        await using var server = await SovereignTestServer.StartAsync("--Sovereign:Engine:Slots=1", "--Sovereign:Engine:QueueLimit=0");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var (running, reader) = await OpenRunningStreamAsync(server, cts.Token);

        using var refused = await server.Http.SendAsync(Post(new JsonObject { ["model"] = SovereignTestServer.Model, ["prompt"] = "Hi", ["max_tokens"] = 2 }), cts.Token);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync(cts.Token))!["error"]!;
        Assert.Equal("rate_limit_error", (string?)error["type"]);
        reader.Dispose();
        running.Dispose();
    }

    [Fact]
    public async Task A_cancelled_stream_frees_its_slot_for_the_next_request()
    {
        await using var server = await SovereignTestServer.StartAsync("--Sovereign:Engine:Slots=1", "--Sovereign:Engine:QueueLimit=0");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var (running, reader) = await OpenRunningStreamAsync(server, cts.Token);

        // The client goes away mid-stream.
        reader.Dispose();
        running.Dispose();

        // With one slot and no queue, the next request only succeeds once the engine has dropped the cancelled
        // sequence. The cancelled one would need 1,500 tokens to finish on its own; the slot must free long before.
        var watch = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            using var next = await server.Http.SendAsync(Post(new JsonObject { ["model"] = SovereignTestServer.Model, ["prompt"] = "Hi", ["max_tokens"] = 2 }), cts.Token);
            status = next.StatusCode;
            if (status == HttpStatusCode.TooManyRequests) await Task.Delay(20, cts.Token);
        }
        while (status == HttpStatusCode.TooManyRequests && watch.Elapsed < TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Clients_that_disconnect_mid_stream_leave_the_runner_serving_everyone_else()
    {
        // As a benchmark stopping its background streams did: several clients go away at once, mid-stream, while another
        // stream runs. An aborted call's read can fail with a transport error rather than "cancelled"; that once made
        // the server abandon the runner, cutting every other stream on it and loading the model again.
        await using var server = await SovereignTestServer.StartAsync("--Sovereign:Engine:Slots=5");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var (survivor, survivorReader) = await OpenRunningStreamAsync(server, cts.Token);
        var pid = (int)JsonNode.Parse(await server.Http.GetStringAsync("health", cts.Token))!["loaded"]![0]!["process_id"]!;

        for (var round = 0; round < 5; round++)
        {
            // Four clients read their streams for a moment, then all stop at once (their reads cancelled, as a client
            // that closes a tab or stops a generation does).
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            var leaving = Enumerable.Range(0, 4).Select(async _ =>
            {
                var (response, reader) = await OpenRunningStreamAsync(server, cts.Token);
                using (response)
                using (reader)
                {
                    try
                    {
                        while (await reader.ReadLineAsync(stop.Token) is not null)
                        {
                        }
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                    }
                }
            }).ToArray();
            await Task.Delay(300, cts.Token);
            await stop.CancelAsync();
            await Task.WhenAll(leaving);
        }

        var rest = await survivorReader.ReadToEndAsync(cts.Token);
        Assert.DoesNotContain("\"error\"", rest, StringComparison.Ordinal);
        Assert.Contains("[DONE]", rest, StringComparison.Ordinal);
        survivorReader.Dispose();
        survivor.Dispose();
        using var next = await server.Http.SendAsync(Post(new JsonObject { ["model"] = SovereignTestServer.Model, ["prompt"] = "Once upon a time", ["max_tokens"] = 5 }), cts.Token);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        var loaded = JsonNode.Parse(await server.Http.GetStringAsync("health", cts.Token))!["loaded"]!.AsArray();
        Assert.Equal(pid, (int)Assert.Single(loaded)!["process_id"]!);
    }

    [Fact]
    public async Task A_runner_that_dies_fails_its_stream_in_band_and_the_next_request_restarts_it()
    {
        await using var server = await SovereignTestServer.StartAsync("--Sovereign:Engine:Slots=2");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var (running, reader) = await OpenRunningStreamAsync(server, cts.Token);

        var health = JsonNode.Parse(await server.Http.GetStringAsync("health", cts.Token))!;
        var pid = (int)health["loaded"]![0]!["process_id"]!;
        Process.GetProcessById(pid).Kill();

        // The stream that was running ends with an error event, not a silent cut.
        var rest = await reader.ReadToEndAsync(cts.Token);
        Assert.Contains("\"error\"", rest, StringComparison.Ordinal);
        reader.Dispose();
        running.Dispose();

        // The server stays up and starts a new runner for the next request.
        using var next = await server.Http.SendAsync(Post(new JsonObject { ["model"] = SovereignTestServer.Model, ["prompt"] = "Once upon a time", ["max_tokens"] = 5 }), cts.Token);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        var after = JsonNode.Parse(await server.Http.GetStringAsync("health", cts.Token))!;
        Assert.NotEqual(pid, (int)after["loaded"]![0]!["process_id"]!);
    }
}
