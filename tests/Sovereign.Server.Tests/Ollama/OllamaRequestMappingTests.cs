using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Models.Distribution;
using Sovereign.Models.Store;
using Sovereign.Server.Ollama;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Ollama;

/// <summary>
/// What reaches the engine for each Ollama request field, through the real server with a scripted engine (no runner),
/// and /api/pull against a scripted puller.
/// </summary>
public sealed class OllamaRequestMappingTests : IAsyncLifetime
{
    private readonly ScriptedInference _engine = new(ScriptedInference.Story(FinishReason.Stop, "Once", " upon"));
    private readonly ScriptedPuller _puller = new();
    private TestHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(inference: _engine, configure: builder =>
        {
            builder.Services.RemoveAll<IModelPuller>();
            builder.Services.AddSingleton<IModelPuller>(_puller);
        });
        await _host.ImportModelAsync("stories");
        await new FileModelStore(_host.Paths).ImportAsync(TestFiles.Stories260K, ModelName.Parse("stories-chat"), "chatml");
        _client = _host.AdminClient();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<GenerationRequest> GenerateAsync(JsonObject body)
    {
        body["model"] ??= "stories";
        body["prompt"] ??= "Hello";
        body["stream"] = false;
        using var response = await _client.PostAsJsonAsync("api/generate", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return _engine.Requests[^1];
    }

    [Fact]
    public async Task Options_reach_the_engine()
    {
        var request = await GenerateAsync(new JsonObject
        {
            ["options"] = new JsonObject
            {
                ["temperature"] = 0.3, ["top_k"] = 5, ["top_p"] = 0.5, ["min_p"] = 0.1, ["seed"] = 42, ["repeat_penalty"] = 1.3,
                ["presence_penalty"] = 0.5, ["frequency_penalty"] = 0.25, ["stop"] = new JsonArray("\n\n", "The end"),
                ["mirostat"] = 2, ["num_gpu"] = 99, ["no_such_option"] = true,
            },
        });

        var s = request.Sampling;
        Assert.Equal(0.3f, s.Temperature);
        Assert.Equal(5, s.TopK);
        Assert.Equal(0.5f, s.TopP);
        Assert.Equal(0.1f, s.MinP);
        Assert.Equal(42u, s.Seed);
        Assert.Equal(1.3f, s.RepeatPenalty);
        Assert.Equal(0.5f, s.PresencePenalty);
        Assert.Equal(0.25f, s.FrequencyPenalty);
        Assert.Equal(["\n\n", "The end"], request.Stop);
        Assert.Null(request.MaxTokens);
        Assert.Equal("stories:latest", request.Model);
    }

    [Fact]
    public async Task Without_options_the_engine_gets_ollamas_defaults_and_a_random_seed()
    {
        var request = await GenerateAsync(new JsonObject { ["options"] = new JsonObject { ["seed"] = -1 } });

        Assert.Equal(OllamaRequestMapper.DefaultTemperature, request.Sampling.Temperature);
        Assert.Equal(OllamaRequestMapper.DefaultTopK, request.Sampling.TopK);
        Assert.Equal(OllamaRequestMapper.DefaultTopP, request.Sampling.TopP);
        Assert.Equal(OllamaRequestMapper.DefaultRepeatPenalty, request.Sampling.RepeatPenalty);
        Assert.Null(request.Sampling.Seed);
        Assert.Null(request.KeepAlive);
    }

    [Theory]
    [InlineData("\"5m\"", 300.0)]
    [InlineData("300", 300.0)]
    [InlineData("\"300\"", 300.0)]
    [InlineData("\"1h30m\"", 5400.0)]
    [InlineData("\"1.5s\"", 1.5)]
    [InlineData("\"250ms\"", 0.25)]
    [InlineData("0", 0.0)]
    [InlineData("\"0s\"", 0.0)]
    [InlineData("-1", -1.0)]
    [InlineData("\"-5m\"", -1.0)]
    public async Task Keep_alive_accepts_durations_and_seconds(string keepAlive, double expectedSeconds)
    {
        var request = await GenerateAsync(new JsonObject { ["keep_alive"] = JsonNode.Parse(keepAlive) });

        if (expectedSeconds < 0) Assert.True(request.KeepAlive < TimeSpan.Zero);
        else Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), request.KeepAlive);
    }

    [Fact]
    public async Task Generate_on_a_model_with_a_chat_template_sends_system_and_prompt_as_messages()
    {
        var request = await GenerateAsync(new JsonObject { ["model"] = "stories-chat", ["system"] = "Be brief.", ["prompt"] = "Hi" });

        Assert.Null(request.Prompt);
        Assert.Equal([new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")], request.Messages);
    }

    [Fact]
    public async Task Raw_generate_sends_the_prompt_verbatim()
    {
        var request = await GenerateAsync(new JsonObject { ["model"] = "stories-chat", ["raw"] = true, ["system"] = "ignored", ["prompt"] = "<|im_start|>x" });

        Assert.Equal("<|im_start|>x", request.Prompt);
        Assert.Null(request.Messages);
    }

    [Fact]
    public async Task Generate_on_a_model_without_a_template_puts_the_system_prompt_first()
    {
        var request = await GenerateAsync(new JsonObject { ["system"] = "A story.", ["prompt"] = "Once" });

        Assert.Equal("A story.\n\nOnce", request.Prompt);
    }

    [Fact]
    public async Task Chat_messages_and_keep_alive_reach_the_engine()
    {
        var body = new JsonObject
        {
            ["model"] = "stories-chat",
            ["stream"] = false,
            ["keep_alive"] = "10m",
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "S" },
                new JsonObject { ["role"] = "user", ["content"] = "U" },
                new JsonObject { ["role"] = "assistant", ["content"] = null },
                new JsonObject { ["role"] = "tool", ["content"] = "T" }),
        };
        using var response = await _client.PostAsJsonAsync("api/chat", body);
        var json = await response.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal("Once upon", (string?)json!["message"]!["content"]);
        Assert.Equal("stop", (string?)json["done_reason"]);
        var request = _engine.Requests[^1];
        Assert.Equal(
            [new ChatMessage("system", "S"), new ChatMessage("user", "U"), new ChatMessage("assistant", ""), new ChatMessage("tool", "T")],
            request.Messages);
        Assert.Equal(TimeSpan.FromMinutes(10), request.KeepAlive);
    }

    [Fact]
    public async Task A_full_queue_is_429_with_retry_after_in_ollamas_shape()
    {
        await using var host = await TestHost.StartAsync(inference: new ScriptedInference((_, _) => throw new SovereignException(
            ErrorKind.RateLimited, "The model is busy.", code: "queue_full") { RetryAfter = TimeSpan.FromSeconds(2) }));
        await host.ImportModelAsync("stories");

        using var response = await host.AdminClient().PostAsJsonAsync("api/generate", new JsonObject { ["model"] = "stories", ["prompt"] = "Hi" });

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        Assert.Equal("{\"error\":\"The model is busy.\"}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_failure_mid_stream_is_an_error_line()
    {
        await using var host = await TestHost.StartAsync(inference: new ScriptedInference(
            new GenerationEvent.Started(3), new GenerationEvent.TextDelta("Once", 1), new GenerationEvent.Failed(ErrorKind.Internal, "runner crashed", "runner_failed")));
        await host.ImportModelAsync("stories");

        using var response = await host.AdminClient().PostAsJsonAsync("api/generate", new JsonObject { ["model"] = "stories", ["prompt"] = "Hi" });
        var lines = (await response.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Once", (string?)JsonNode.Parse(lines[0])!["response"]);
        Assert.Equal("{\"error\":\"runner crashed\"}", lines[^1]);
    }

    [Fact]
    public async Task Pull_streams_the_pullers_progress_as_ollama_status_lines()
    {
        using var response = await _client.PostAsJsonAsync("api/pull", new JsonObject { ["model"] = "tiny:1" });
        var lines = (await response.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n').Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("tiny:1", _puller.Requested.Single());
        Assert.Equal(["status"], lines[0].Select(p => p.Key));
        Assert.Equal("pulling manifest", (string?)lines[0]["status"]);
        Assert.Equal(["status", "digest", "total", "completed"], lines[1].Select(p => p.Key));
        Assert.Equal(100, (long)lines[2]["completed"]!);
        Assert.Equal("{\"status\":\"success\"}", lines[^1].ToJsonString());
    }

    [Fact]
    public async Task Pull_without_streaming_answers_with_the_last_status()
    {
        var json = await (await _client.PostAsJsonAsync("api/pull", new JsonObject { ["name"] = "tiny", ["stream"] = false }))
            .Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal("success", (string?)json!["status"]);
    }

    [Fact]
    public async Task Pull_failures_are_http_errors_before_progress_and_error_lines_after()
    {
        using var before = await _client.PostAsJsonAsync("api/pull", new JsonObject { ["model"] = "missing" });
        using var after = await _client.PostAsJsonAsync("api/pull", new JsonObject { ["model"] = "corrupt" });
        var lines = (await after.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');

        Assert.Equal(HttpStatusCode.NotFound, before.StatusCode);
        Assert.Equal("{\"error\":\"model 'missing' is on no mirror\"}", await before.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("{\"error\":\"digest mismatch\"}", lines[^1]);
    }

    [Fact]
    public async Task Pull_is_501_on_a_server_without_a_puller()
    {
        await using var host = await TestHost.StartAsync(inference: _engine, configure: builder => builder.Services.RemoveAll<IModelPuller>());

        using var response = await host.AdminClient().PostAsJsonAsync("api/pull", new JsonObject { ["model"] = "tiny" });

        Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
        Assert.Contains("pulling models is not available", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["error"], StringComparison.Ordinal);
    }

    /// <summary>Pretends to pull: "missing" is unknown, "corrupt" fails after its first report, anything else succeeds. Thread-safe.</summary>
    private sealed class ScriptedPuller : IModelPuller
    {
        private readonly List<string> _requested = [];

        public IReadOnlyList<string> Requested
        {
            get
            {
                lock (_requested) return [.. _requested];
            }
        }

        public async IAsyncEnumerable<PullProgress> PullAsync(string reference, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            lock (_requested) _requested.Add(reference);
            await Task.Yield();
            if (reference == "missing") throw SovereignException.NotFound($"model '{reference}' is on no mirror", "model", "model_not_found");
            yield return new PullProgress("pulling manifest");
            if (reference == "corrupt") throw new SovereignException(ErrorKind.Internal, "digest mismatch", code: "digest_mismatch");
            yield return new PullProgress("pulling abc", "sha256:abc", 100, 40);
            yield return new PullProgress("pulling abc", "sha256:abc", 100, 100);
            yield return new PullProgress("verifying sha256 digest");
            yield return new PullProgress("success");
        }
    }
}
