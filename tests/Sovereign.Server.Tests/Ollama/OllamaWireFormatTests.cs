using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Sovereign.Server.Tests.EndToEnd;

namespace Sovereign.Server.Tests.Ollama;

/// <summary>The bytes Ollama clients rely on: NDJSON framing, the final object's fields, load/unload, errors as {"error"}.</summary>
[Collection(OllamaServerCollection.Name)]
public sealed class OllamaWireFormatTests(OllamaServerFixture fixture)
{
    private readonly SovereignTestServer _server = fixture.Server;

    private static readonly string[] DoneFields =
        ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"];

    /// <summary>Every line of the body, each one JSON object (no blank lines, nothing else).</summary>
    private static async Task<List<JsonObject>> ReadNdjsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text[..^1].Split('\n');
        return [.. lines.Select(line => Assert.IsType<JsonObject>(JsonNode.Parse(line)))];
    }

    private async Task<JsonArray> PsModelsAsync()
    {
        var ps = await _server.Http.GetFromJsonAsync<JsonObject>("api/ps");
        return ps!["models"]!.AsArray();
    }

    private static void AssertOllamaError(JsonNode body, string? contains = null)
    {
        var error = Assert.IsType<JsonObject>(body);
        Assert.Equal(["error"], error.Select(p => p.Key));
        var message = error["error"]!.GetValue<string>();
        Assert.False(string.IsNullOrWhiteSpace(message));
        if (contains is not null) Assert.Contains(contains, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_streams_ndjson_one_object_per_line_and_ends_with_done()
    {
        var body = new JsonObject
        {
            ["model"] = SovereignTestServer.Model,
            ["prompt"] = "Once upon a time",
            ["options"] = new JsonObject { ["temperature"] = 0, ["num_predict"] = 6 },
        };
        using var response = await _server.Http.PostAsJsonAsync("api/generate", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = await ReadNdjsonAsync(response);
        foreach (var chunk in lines[..^1])
        {
            Assert.Equal(["model", "created_at", "response", "done"], chunk.Select(p => p.Key));
            Assert.Equal(SovereignTestServer.Model, (string?)chunk["model"]);
            Assert.False((bool)chunk["done"]!);
            Assert.True(DateTimeOffset.TryParse((string?)chunk["created_at"], out _));
        }
        var done = lines[^1];
        Assert.True((bool)done["done"]!);
        Assert.Equal("", (string?)done["response"]);
        Assert.Equal("length", (string?)done["done_reason"]);
        Assert.Empty(done["context"]!.AsArray());
        foreach (var field in DoneFields) Assert.True(done[field]!.GetValue<long>() >= 0, field);
        Assert.Equal(6, (int)done["eval_count"]!);
        Assert.True((long)done["total_duration"]! >= (long)done["eval_duration"]!);
    }

    [Fact]
    public async Task Chat_streams_assistant_messages_and_a_final_object_without_context()
    {
        var body = new JsonObject
        {
            ["model"] = SovereignTestServer.ChatModel,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Tell me a story" }),
            ["options"] = new JsonObject { ["num_predict"] = 4 },
        };
        using var response = await _server.Http.PostAsJsonAsync("api/chat", body);

        var lines = await ReadNdjsonAsync(response);
        Assert.All(lines[..^1], chunk =>
        {
            Assert.Equal("assistant", (string?)chunk["message"]!["role"]);
            Assert.False((bool)chunk["done"]!);
            Assert.Null(chunk["done_reason"]);
        });
        var done = lines[^1];
        Assert.True((bool)done["done"]!);
        Assert.Equal("", (string?)done["message"]!["content"]);
        Assert.Null(done["context"]);
        foreach (var field in DoneFields) Assert.NotNull(done[field]);
    }

    [Fact]
    public async Task Stream_false_answers_one_json_object_with_the_whole_text()
    {
        var body = new JsonObject
        {
            ["model"] = SovereignTestServer.Model,
            ["prompt"] = "Once upon a time",
            ["stream"] = false,
            ["options"] = new JsonObject { ["temperature"] = 0, ["num_predict"] = 20 },
        };
        using var response = await _server.Http.PostAsJsonAsync("api/generate", body);

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = Assert.IsType<JsonObject>(JsonNode.Parse(await response.Content.ReadAsStringAsync()));
        Assert.True((bool)json["done"]!);
        Assert.Contains("Lily", (string?)json["response"], StringComparison.Ordinal);
        Assert.Equal(20, (int)json["eval_count"]!);
    }

    [Fact]
    public async Task Raw_prompts_get_no_context_in_the_final_object()
    {
        var body = new JsonObject
        {
            ["model"] = SovereignTestServer.Model, ["prompt"] = "Once", ["raw"] = true, ["stream"] = false,
            ["options"] = new JsonObject { ["num_predict"] = 2 },
        };
        var json = await (await _server.Http.PostAsJsonAsync("api/generate", body)).Content.ReadFromJsonAsync<JsonObject>();

        Assert.True((bool)json!["done"]!);
        Assert.False(json.ContainsKey("context"));
    }

    [Fact]
    public async Task Num_ctx_caps_prompt_and_completion_together()
    {
        var body = new JsonObject
        {
            ["model"] = SovereignTestServer.Model,
            ["prompt"] = "Once upon a time",
            ["stream"] = false,
            ["options"] = new JsonObject { ["temperature"] = 0, ["num_ctx"] = 16, ["num_predict"] = -1 },
        };
        var json = await (await _server.Http.PostAsJsonAsync("api/generate", body)).Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal("length", (string?)json!["done_reason"]);
        Assert.Equal(16, (int)json["prompt_eval_count"]! + (int)json["eval_count"]!);
    }

    [Fact]
    public async Task A_prompt_that_fills_num_ctx_is_refused_with_400()
    {
        var body = new JsonObject
        {
            ["model"] = SovereignTestServer.Model, ["prompt"] = "Once upon a time there was a little girl", ["options"] = new JsonObject { ["num_ctx"] = 3 },
        };
        using var response = await _server.Http.PostAsJsonAsync("api/generate", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        AssertOllamaError(await response.Content.ReadFromJsonAsync<JsonNode>() ?? new JsonObject(), "num_ctx");
    }

    [Fact]
    public async Task Empty_prompt_loads_the_model_and_keep_alive_0_unloads_it()
    {
        var load = new JsonObject { ["model"] = SovereignTestServer.Model, ["keep_alive"] = "30m" };
        var loaded = await (await _server.Http.PostAsJsonAsync("api/generate", load)).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("load", (string?)loaded!["done_reason"]);
        Assert.True((bool)loaded["done"]!);
        Assert.Equal("", (string?)loaded["response"]);
        Assert.Contains(await PsModelsAsync(), m => (string?)m!["name"] == "stories:latest");

        var unload = new JsonObject { ["model"] = SovereignTestServer.Model, ["keep_alive"] = "0" };
        var unloaded = await (await _server.Http.PostAsJsonAsync("api/generate", unload)).Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal("unload", (string?)unloaded!["done_reason"]);
        Assert.DoesNotContain(await PsModelsAsync(), m => (string?)m!["name"] == "stories:latest");
    }

    [Fact]
    public async Task Empty_messages_load_the_chat_model_with_an_empty_assistant_message()
    {
        var body = new JsonObject { ["model"] = SovereignTestServer.ChatModel, ["messages"] = new JsonArray(), ["stream"] = false };
        var json = await (await _server.Http.PostAsJsonAsync("api/chat", body)).Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal("load", (string?)json!["done_reason"]);
        Assert.Equal("assistant", (string?)json["message"]!["role"]);
        Assert.Equal("", (string?)json["message"]!["content"]);
    }

    [Fact]
    public async Task A_generation_with_keep_alive_0_leaves_nothing_loaded()
    {
        var body = new JsonObject
        {
            ["model"] = SovereignTestServer.Model, ["prompt"] = "Once", ["stream"] = false, ["keep_alive"] = 0,
            ["options"] = new JsonObject { ["num_predict"] = 2 },
        };
        using var response = await _server.Http.PostAsJsonAsync("api/generate", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The model unloads once its last request has left, which is as the response is written.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline && (await PsModelsAsync()).Any(m => (string?)m!["name"] == "stories:latest"))
            await Task.Delay(50);
        Assert.DoesNotContain(await PsModelsAsync(), m => (string?)m!["name"] == "stories:latest");
    }

    [Fact]
    public async Task Ps_reports_expiry_from_keep_alive_and_no_vram()
    {
        var body = new JsonObject { ["model"] = SovereignTestServer.ChatModel, ["keep_alive"] = "1h30m" };
        await _server.Http.PostAsJsonAsync("api/generate", body);

        var model = Assert.Single(await PsModelsAsync(), m => (string?)m!["name"] == "stories-chat:latest")!;

        Assert.Equal(["name", "model", "size", "digest", "details", "expires_at", "size_vram", "context_length"], model.AsObject().Select(p => p.Key));
        Assert.Equal(0, (long)model["size_vram"]!);
        var expires = DateTimeOffset.Parse((string)model["expires_at"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(88), TimeSpan.FromMinutes(91));
    }

    [Fact]
    public async Task Tags_use_bare_hex_digests_and_ollamas_detail_fields()
    {
        var tags = await _server.Http.GetFromJsonAsync<JsonObject>("api/tags");
        var model = tags!["models"]!.AsArray().Single(m => (string?)m!["name"] == "stories:latest")!;

        Assert.Equal(["name", "model", "modified_at", "size", "digest", "details"], model.AsObject().Select(p => p.Key));
        Assert.Matches("^[0-9a-f]{64}$", (string)model["digest"]!);
        Assert.Equal(["parent_model", "format", "family", "families", "parameter_size", "quantization_level"],
            model["details"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task Show_takes_the_older_name_field_and_verbose_fills_arrays()
    {
        var brief = await (await _server.Http.PostAsJsonAsync("api/show", new JsonObject { ["name"] = "stories" })).Content.ReadFromJsonAsync<JsonObject>();
        var verbose = await (await _server.Http.PostAsJsonAsync("api/show", new JsonObject { ["model"] = "stories", ["verbose"] = true }))
            .Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal("llama", (string?)brief!["model_info"]!["general.architecture"]);
        Assert.Empty(brief["model_info"]!["tokenizer.ggml.tokens"]!.AsArray());
        Assert.NotEmpty(verbose!["model_info"]!["tokenizer.ggml.tokens"]!.AsArray());
        Assert.Equal("", (string?)brief["template"]);
    }

    [Fact]
    public async Task Unknown_model_is_404_with_ollamas_message()
    {
        using var response = await _server.Http.PostAsJsonAsync("api/generate", new JsonObject { ["model"] = "nope", ["prompt"] = "Hi" });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("{\"error\":\"model 'nope' not found\"}", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("""{"temperature": 5}""", "options.temperature")]
    [InlineData("""{"top_k": "many"}""", "options.top_k")]
    [InlineData("""{"num_predict": 0}""", "options.num_predict")]
    [InlineData("""{"stop": [1, 2]}""", "options.stop")]
    [InlineData("""{"num_ctx": -5}""", "options.num_ctx")]
    [InlineData("""[1]""", "options")]
    public async Task A_bad_option_is_400_naming_it(string options, string named)
    {
        var body = $$"""{"model": "stories", "prompt": "Hi", "options": {{options}}}""";
        using var response = await _server.Http.PostAsync("api/generate", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        AssertOllamaError((await response.Content.ReadFromJsonAsync<JsonNode>())!, named);
    }

    [Theory]
    [InlineData("""{"model": "stories", "prompt": "Hi", "keep_alive": "soon"}""", "keep_alive")]
    [InlineData("""{"model": "stories", "prompt": "Hi", "format": "xml"}""", "format")]
    [InlineData("""{"model": "stories", "prompt": "Hi", "template": "{{ .Prompt }}"}""", "template")]
    [InlineData("""{"model": "stories", "prompt": "Hi", "images": ["aGk="]}""", "images")]
    [InlineData("""{"prompt": "Hi"}""", "model is required")]
    [InlineData("""{"model": "../etc", "prompt": "Hi"}""", "invalid model name")]
    [InlineData("""{"model": "stories", "prompt": 5}""", "prompt")]
    public async Task Generate_refuses_what_it_cannot_do_with_400(string body, string named)
    {
        using var response = await _server.Http.PostAsync("api/generate", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        AssertOllamaError((await response.Content.ReadFromJsonAsync<JsonNode>())!, named);
    }

    [Theory]
    [InlineData("""{"model": "stories-chat", "messages": [{"role": "user", "content": "Hi", "images": "aGk="}]}""", "messages[0].images")]
    [InlineData("""{"model": "stories-chat", "messages": [{"role": "user", "content": "Hi", "images": ["http://127.0.0.1:9/cat.png"]}]}""", "messages[0].images[0]")]
    [InlineData("""{"model": "stories-chat", "messages": [{"role": "user", "content": "Hi"}], "tools": [{"type": "function"}]}""", "tools")]
    [InlineData("""{"model": "stories-chat", "messages": [{"role": "wizard", "content": "Hi"}]}""", "messages[0].role")]
    [InlineData("""{"model": "stories-chat", "messages": [{"role": "user", "content": "Hi"}], "think": true}""", "think")]
    public async Task Chat_refuses_what_it_cannot_do_with_400(string body, string named)
    {
        using var response = await _server.Http.PostAsync("api/chat", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        AssertOllamaError((await response.Content.ReadFromJsonAsync<JsonNode>())!, named);
    }

    [Fact]
    public async Task Unknown_routes_and_bad_json_answer_in_ollamas_error_shape()
    {
        using var missing = await _server.Http.GetAsync("api/nothing-here");
        using var badJson = await _server.Http.PostAsync("api/generate", new StringContent("{not json", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        AssertOllamaError((await missing.Content.ReadFromJsonAsync<JsonNode>())!);
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
        AssertOllamaError((await badJson.Content.ReadFromJsonAsync<JsonNode>())!);
    }

    [Fact]
    public async Task A_missing_key_is_401_in_ollamas_error_shape()
    {
        using var anonymous = new HttpClient { BaseAddress = _server.BaseAddress };
        using var response = await anonymous.GetAsync("api/tags");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        AssertOllamaError((await response.Content.ReadFromJsonAsync<JsonNode>())!, "API key");
    }

    [Fact]
    public async Task Copy_of_an_unknown_source_is_404_and_a_bad_destination_400()
    {
        using var unknown = await _server.Http.PostAsJsonAsync("api/copy", new JsonObject { ["source"] = "nope", ["destination"] = "x" });
        using var bad = await _server.Http.PostAsJsonAsync("api/copy", new JsonObject { ["source"] = "stories", ["destination"] = "../x" });

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        AssertOllamaError((await unknown.Content.ReadFromJsonAsync<JsonNode>())!, "model 'nope' not found");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        AssertOllamaError((await bad.Content.ReadFromJsonAsync<JsonNode>())!, "destination");
    }
}
