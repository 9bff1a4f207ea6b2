using System.Net;
using System.Text.Json.Nodes;
using Sovereign.Core.Generation;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.OpenAi;

public sealed class CompletionsTests : IAsyncLifetime
{
    private readonly ScriptedInference _engine = new(ScriptedInference.Story(FinishReason.Length, " there", " was"));
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(inference: _engine, settings: ["--Sovereign:Limits:MaxPromptChars=50"]);
        await _host.ImportModelAsync("stories");
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Task<(HttpStatusCode Status, JsonNode Body)> PostAsync(string json) => _host.AdminClient().PostJsonAsync("v1/completions", json);

    [Fact]
    public async Task A_completion_defaults_to_16_tokens_and_answers_in_text_completion_shape()
    {
        var (status, body) = await PostAsync("""{"model":"stories","prompt":"Once upon a time","seed":-1}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var request = Assert.Single(_engine.Requests);
        Assert.Equal("Once upon a time", request.Prompt);
        Assert.Null(request.Messages);
        Assert.Equal(16, request.MaxTokens);
        Assert.Equal(0u, request.Sampling.Seed); // -1 is 0xFFFFFFFF_FFFFFFFF: both 32-bit halves fold to 0
        Assert.Equal(body["id"]!.GetValue<string>(), request.Id);

        Assert.Equal(["id", "object", "created", "model", "system_fingerprint", "choices", "usage"], body.AsObject().Select(p => p.Key));
        Assert.StartsWith("cmpl-", body["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("text_completion", body["object"]!.GetValue<string>());
        var choice = Assert.Single(body["choices"]!.AsArray())!;
        Assert.Equal(" there was", choice["text"]!.GetValue<string>());
        Assert.Equal("length", choice["finish_reason"]!.GetValue<string>());
        Assert.True(choice.AsObject().ContainsKey("logprobs"));
        Assert.Equal(9, body["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_prompt_array_of_one_string_and_ignore_eos_are_accepted()
    {
        var (status, _) = await PostAsync("""{"model":"stories","prompt":["Once"],"max_tokens":3,"ignore_eos":true}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var request = Assert.Single(_engine.Requests);
        Assert.Equal("Once", request.Prompt);
        Assert.Equal(3, request.MaxTokens);
        Assert.True(request.IgnoreEos);
    }

    [Fact]
    public async Task A_stream_sends_text_completion_chunks_then_done()
    {
        using var response = await _host.AdminClient().PostAsync("v1/completions", Http.Json(
            """{"model":"stories","prompt":"Once","stream":true,"stream_options":{"include_usage":true}}"""));

        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!).ToArray();
        Assert.Equal(4, chunks.Length);
        Assert.All(chunks, c => Assert.Equal("text_completion", c["object"]!.GetValue<string>()));
        Assert.Equal(" there", chunks[0]["choices"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(" was", chunks[1]["choices"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("", chunks[2]["choices"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("length", chunks[2]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Empty(chunks[3]["choices"]!.AsArray());
        Assert.Equal(2, chunks[3]["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("""{"model":"stories","prompt":"x","echo":true}""", "echo")]
    [InlineData("""{"model":"stories","prompt":"x","best_of":2}""", "best_of")]
    [InlineData("""{"model":"stories","prompt":"x","logprobs":1}""", "logprobs")]
    [InlineData("""{"model":"stories","prompt":"x","suffix":"end"}""", "suffix")]
    [InlineData("""{"model":"stories","prompt":["a","b"]}""", "prompt")]
    [InlineData("""{"model":"stories","prompt":[1,2,3]}""", "prompt")]
    [InlineData("""{"model":"stories"}""", "prompt")]
    [InlineData("""{"model":"stories","prompt":"x","n":3}""", "n")]
    [InlineData("""{"model":"stories","prompt":"x","max_tokens":0}""", "max_tokens")]
    [InlineData("""{"model":"stories","prompt":"x","temperature":-1}""", "temperature")]
    public async Task Unsupported_or_invalid_fields_are_400_naming_the_field(string json, string param)
    {
        var (status, body) = await PostAsync(json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", param: param);
        Assert.Empty(_engine.Requests);
    }

    [Fact]
    public async Task A_prompt_over_the_character_limit_is_400_context_length_exceeded()
    {
        var (status, body) = await PostAsync($$"""{"model":"stories","prompt":"{{new string('a', 51)}}"}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "context_length_exceeded", "prompt");
    }
}
