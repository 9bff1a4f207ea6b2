using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Sovereign.Server.Tests.EndToEnd;

/// <summary>The exact bytes OpenAI clients rely on: SSE framing, chunk order, usage chunk, [DONE], error bodies.</summary>
[Collection(SharedServerCollection.Name)]
public sealed class WireFormatTests(SharedServerFixture fixture)
{
    private readonly SovereignTestServer _server = fixture.Server;

    private static async Task<List<string>> ReadSseDataAsync(HttpResponseMessage response)
    {
        var lines = new List<string>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            Assert.StartsWith("data: ", line, StringComparison.Ordinal);
            lines.Add(line["data: ".Length..]);
        }
        return lines;
    }

    [Fact]
    public async Task Chat_stream_follows_openai_chunk_order_and_ends_with_done()
    {
        var body = new JsonObject
        {
            ["model"] = SovereignTestServer.ChatModel,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Once upon a time" }),
            ["stream"] = true,
            ["max_tokens"] = 5,
            ["temperature"] = 0,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        using var response = await _server.Http.PostAsJsonAsync("v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        var data = await ReadSseDataAsync(response);
        Assert.Equal("[DONE]", data[^1]);
        var chunks = data[..^1].Select(d => JsonNode.Parse(d)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.Single(chunks.Select(c => (string?)c["id"]).Distinct());

        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);
        var usageChunk = chunks[^1];
        Assert.Empty(usageChunk["choices"]!.AsArray());
        Assert.Equal(5, (int)usageChunk["usage"]!["completion_tokens"]!);
        var finishChunk = chunks[^2];
        Assert.Equal("length", (string?)finishChunk["choices"]![0]!["finish_reason"]);
        var content = string.Concat(chunks.Skip(1).Take(chunks.Count - 3).Select(c => (string?)c["choices"]![0]!["delta"]!["content"]));
        Assert.False(string.IsNullOrEmpty(content));
    }

    [Fact]
    public async Task Completions_endpoint_continues_a_raw_prompt_and_reports_usage()
    {
        var body = new JsonObject { ["model"] = SovereignTestServer.Model, ["prompt"] = "Once upon a time", ["max_tokens"] = 30, ["temperature"] = 0 };
        using var response = await _server.Http.PostAsJsonAsync("v1/completions", body);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text_completion", (string?)json["object"]);
        // The model's README: greedy "Once upon a time" continues with a story about a girl named Lily.
        Assert.Contains("Lily", (string?)json["choices"]![0]!["text"], StringComparison.Ordinal);
        Assert.True((int)json["usage"]!["prompt_tokens"]! > 0);
    }

    [Fact]
    public async Task Completions_stream_ends_with_finish_reason_and_done()
    {
        var body = new JsonObject { ["model"] = SovereignTestServer.Model, ["prompt"] = "Once upon a time", ["max_tokens"] = 4, ["temperature"] = 0, ["stream"] = true };
        using var response = await _server.Http.PostAsJsonAsync("v1/completions", body);
        var data = await ReadSseDataAsync(response);
        Assert.Equal("[DONE]", data[^1]);
        var last = JsonNode.Parse(data[^2])!;
        Assert.Equal("text_completion", (string?)last["object"]);
        Assert.Equal("length", (string?)last["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_refused_with_400()
    {
        var body = new JsonObject { ["model"] = SovereignTestServer.Model, ["prompt"] = string.Concat(Enumerable.Repeat("Once upon a time there was a girl. ", 700)), ["max_tokens"] = 4 };
        using var response = await _server.Http.PostAsJsonAsync("v1/completions", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("context_length_exceeded", (string?)error["code"]);
        Assert.Contains("context", (string?)error["message"], StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Chat_with_a_model_that_has_no_template_is_refused_with_a_clear_400()
    {
        var body = new JsonObject
        {
            ["model"] = SovereignTestServer.Model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        };
        using var response = await _server.Http.PostAsJsonAsync("v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["message"];
        Assert.Contains("template", message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Health_reports_the_native_backend_and_the_loaded_models()
    {
        // Make sure the model runs, then ask.
        using var warm = await _server.Http.PostAsJsonAsync("v1/completions", new JsonObject { ["model"] = SovereignTestServer.Model, ["prompt"] = "Hi", ["max_tokens"] = 1 });
        using var anonymous = new HttpClient { BaseAddress = _server.BaseAddress };
        var health = JsonNode.Parse(await anonymous.GetStringAsync("health"))!;
        Assert.Equal("ok", (string?)health["status"]);
        Assert.Contains("llama.cpp", (string?)health["backend"], StringComparison.Ordinal);
        Assert.Contains(health["loaded"]!.AsArray(), m => ((string?)m!["name"] ?? (string?)m["Name"])!.StartsWith(SovereignTestServer.Model, StringComparison.Ordinal));
    }
}
