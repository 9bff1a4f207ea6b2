using System.Net;
using Sovereign.Core.Generation;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.OpenAi;

/// <summary>Requests the server refuses before the engine ever sees them.</summary>
public sealed class ChatCompletionsValidationTests : IAsyncLifetime
{
    private readonly ScriptedInference _engine = new(ScriptedInference.Story(FinishReason.Stop, "never"));
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(inference: _engine, settings:
        [
            "--Sovereign:Limits:MaxRequestBytes=4096",
            "--Sovereign:Limits:MaxPromptChars=100",
            "--Sovereign:Limits:MaxCompletionTokens=512",
            "--Sovereign:Limits:MaxStopStrings=2",
        ]);
        await _host.ImportModelAsync("stories");
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Assert.Empty(_engine.Requests);
    }

    private Task<(HttpStatusCode Status, System.Text.Json.Nodes.JsonNode Body)> PostAsync(string json) =>
        _host.AdminClient().PostJsonAsync("v1/chat/completions", json);

    [Fact]
    public async Task An_unknown_model_is_404_model_not_found()
    {
        var (status, body) = await PostAsync("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "model_not_found", "model");
    }

    [Fact]
    public async Task Malformed_json_is_400_in_OpenAIs_shape_not_problem_details()
    {
        using var response = await _host.AdminClient().PostAsync("v1/chat/completions", Http.Json("""{"model": "stories", "messages": [}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = Http.AssertOpenAiError(await Http.BodyAsync(response), "invalid_request_error", "invalid_json");
        Assert.Contains("not valid JSON", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_field_of_the_wrong_type_is_400_naming_it()
    {
        var (status, body) = await PostAsync("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", param: "temperature");
    }

    [Fact]
    public async Task An_empty_body_is_400()
    {
        var (status, body) = await PostAsync("");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error");
    }

    [Fact]
    public async Task Missing_model_and_messages_are_both_reported()
    {
        var (status, body) = await PostAsync("{}");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Http.AssertOpenAiError(body, "invalid_request_error", "missing_required_parameter", "model");
        Assert.Contains("'messages'", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_out_of_range_temperature_is_400_naming_temperature()
    {
        var (status, body) = await PostAsync("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"temperature":3}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", param: "temperature");
    }

    [Fact]
    public async Task Several_bad_sampling_values_are_all_reported()
    {
        var (status, body) = await PostAsync("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"top_p":0,"min_p":2,"repeat_penalty":0}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var message = Http.AssertOpenAiError(body, "invalid_request_error", param: "top_p")["message"]!.GetValue<string>();
        Assert.Contains("min_p", message, StringComparison.Ordinal);
        Assert.Contains("repeat_penalty", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task N_other_than_one_is_400_naming_n()
    {
        var (status, body) = await PostAsync("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"n":2}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", param: "n");
    }

    [Theory]
    [InlineData("max_tokens", 0)]
    [InlineData("max_tokens", 513)]
    [InlineData("max_completion_tokens", -1)]
    public async Task Max_tokens_outside_one_to_the_limit_is_400(string field, int value)
    {
        var (status, body) = await PostAsync($$"""{"model":"stories","messages":[{"role":"user","content":"hi"}],"{{field}}":{{value}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", param: field);
    }

    [Fact]
    public async Task Too_many_stop_strings_is_400_naming_stop()
    {
        var (status, body) = await PostAsync("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"stop":["a","b","c"]}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", param: "stop");
    }

    [Fact]
    public async Task A_prompt_longer_than_the_character_limit_is_400_context_length_exceeded()
    {
        var long1 = new string('a', 60);
        var (status, body) = await PostAsync($$"""{"model":"stories","messages":[{"role":"system","content":"{{long1}}"},{"role":"user","content":"{{long1}}"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "context_length_exceeded", "messages");
    }

    [Fact]
    public async Task A_body_over_the_size_limit_is_413_in_OpenAIs_shape()
    {
        var big = new string('a', 8000);
        var (status, body) = await PostAsync($$"""{"model":"stories","messages":[{"role":"user","content":"{{big}}"}]}""");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "request_too_large");
    }

    [Fact]
    public async Task An_image_content_part_without_image_data_is_400()
    {
        var (status, body) = await PostAsync("""
            {"model":"stories","messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"data:,"}}]}]}
            """);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Http.AssertOpenAiError(body, "invalid_request_error", param: "messages[0].content[1].image_url.url");
        Assert.Contains("data URL", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_role_is_400()
    {
        var (status, body) = await PostAsync("""{"model":"stories","messages":[{"role":"wizard","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "invalid_value", "messages[0].role");
    }

    [Fact]
    public async Task Tools_are_refused_rather_than_ignored()
    {
        var (status, body) = await PostAsync("""
            {"model":"stories","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}
            """);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", param: "tools");
    }

    [Fact]
    public async Task Stream_options_without_stream_is_400()
    {
        var (status, body) = await PostAsync("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", param: "stream_options");
    }
}
