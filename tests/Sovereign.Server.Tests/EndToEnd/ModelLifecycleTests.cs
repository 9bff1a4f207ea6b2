using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Core.Generation;
using Sovereign.Inference.Hosting;
using Sovereign.Models.Gguf;

namespace Sovereign.Server.Tests.EndToEnd;

/// <summary>Loading, sharing, evicting and unloading runner processes within the memory budget.</summary>
public sealed class ModelLifecycleTests
{
    private const int Slots = 2;
    private const int Context = 512;

    /// <summary>What one stories260K runner is charged with these settings.</summary>
    private static long OneModel => MemoryEstimate.Estimate(GgufReader.Read(TestModels.Stories260K), Slots, Context);

    private static Task<SovereignTestServer> StartAsync(params string[] more) => SovereignTestServer.StartAsync(
        [$"--Sovereign:Engine:Slots={Slots}", $"--Sovereign:Engine:ContextSize={Context}", .. more]);

    private static JsonObject Completion(string model, int maxTokens = 3, bool ignoreEos = false, bool stream = false) => new()
    {
        ["model"] = model,
        ["prompt"] = "Once upon a time",
        ["max_tokens"] = maxTokens,
        ["temperature"] = 0,
        ["ignore_eos"] = ignoreEos,
        ["stream"] = stream,
    };

    private static ModelManager Manager(SovereignTestServer server) => server.Services.GetRequiredService<ModelManager>();

    [Fact]
    public async Task Concurrent_requests_for_an_unloaded_model_cause_one_load()
    {
        await using var server = await StartAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => server.Http.PostAsJsonAsync("v1/completions", Completion(SovereignTestServer.Model))));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, Manager(server).RunnerStarts);
        Assert.Single(Manager(server).Loaded());
    }

    [Fact]
    public async Task A_budget_that_fits_one_model_unloads_the_least_recently_used_idle_one()
    {
        await using var server = await StartAsync($"--Sovereign:Engine:MemoryBudget={OneModel * 3 / 2}");
        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsJsonAsync("v1/completions", Completion(SovereignTestServer.Model))).StatusCode);
        Assert.Equal(SovereignTestServer.Model + ":latest", Assert.Single(Manager(server).Loaded()).Name);

        var chat = new JsonObject
        {
            ["model"] = SovereignTestServer.ChatModel,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
            ["max_tokens"] = 3,
        };
        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsJsonAsync("v1/chat/completions", chat)).StatusCode);

        var loaded = Assert.Single(Manager(server).Loaded());
        Assert.Equal(SovereignTestServer.ChatModel + ":latest", loaded.Name);
        Assert.True(loaded.MemoryBytes > 0);
    }

    [Fact]
    public async Task A_model_that_is_generating_is_never_unloaded_to_make_room()
    {
        await using var server = await StartAsync($"--Sovereign:Engine:MemoryBudget={OneModel * 3 / 2}");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var running = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = JsonContent.Create(Completion(SovereignTestServer.Model, maxTokens: 400, ignoreEos: true, stream: true)),
        }, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        using var reader = new StreamReader(await running.Content.ReadAsStreamAsync(cts.Token));
        await reader.ReadLineAsync(cts.Token); // the stream has started: the model is busy

        var chat = new JsonObject
        {
            ["model"] = SovereignTestServer.ChatModel,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        };
        using var refused = await server.Http.PostAsJsonAsync("v1/chat/completions", chat, cts.Token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("insufficient_memory", (string?)JsonNode.Parse(await refused.Content.ReadAsStringAsync(cts.Token))!["error"]!["code"]);

        // The busy stream is untouched and finishes normally.
        var rest = await reader.ReadToEndAsync(cts.Token);
        Assert.Contains("\"finish_reason\":\"length\"", rest, StringComparison.Ordinal);
        Assert.DoesNotContain("\"error\"", rest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_that_can_never_fit_is_refused_and_the_server_stays_up()
    {
        await using var server = await StartAsync("--Sovereign:Engine:MemoryBudget=1048576");
        using var refused = await server.Http.PostAsJsonAsync("v1/completions", Completion(SovereignTestServer.Model));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("model_too_large", (string?)error["code"]);
        Assert.Contains("MemoryBudget", (string?)error["message"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("health")).StatusCode);
        Assert.Empty(Manager(server).Loaded());
    }

    [Fact]
    public async Task Keep_alive_zero_unloads_the_model_once_idle()
    {
        await using var server = await StartAsync();
        var inference = server.Services.GetRequiredService<IInferenceService>();
        await inference.LoadAsync(SovereignTestServer.Model);
        Assert.Single(inference.Loaded());

        await inference.LoadAsync(SovereignTestServer.Model, TimeSpan.Zero);

        Assert.Empty(inference.Loaded());
    }

    [Fact]
    public async Task An_idle_model_unloads_after_its_keep_alive()
    {
        await using var server = await StartAsync("--Sovereign:Engine:KeepAlive=00:00:01");
        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsJsonAsync("v1/completions", Completion(SovereignTestServer.Model))).StatusCode);
        var loaded = Assert.Single(Manager(server).Loaded());
        Assert.NotNull(loaded.ExpiresAt);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (Manager(server).Loaded().Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Empty(Manager(server).Loaded());
    }
}
