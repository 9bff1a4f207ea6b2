using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using OpenAI.Chat;
using Sovereign.Server.Tests.EndToEnd;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.OpenAi;

/// <summary>response_format, Ollama's format and raw grammars against the real model in a real runner process.</summary>
[Collection(SharedServerCollection.Name)]
public sealed class StructuredOutputTests(SharedServerFixture fixture)
{
    private const string PersonSchema = """
        {"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":10},"age":{"type":"integer","minimum":1,"maximum":99},
         "pets":{"type":"array","items":{"enum":["cat","dog","fish"]},"maxItems":3}},"required":["name","age","pets"],"additionalProperties":false}
        """;

    private readonly SovereignTestServer _server = fixture.Server;

    private static void AssertValid(string schema, string output)
    {
        using var document = JsonDocument.Parse(output);
        var result = JsonSchema.FromText(schema).Evaluate(document.RootElement);
        Assert.True(result.IsValid, $"{output} does not validate against {schema}");
    }

    [Fact]
    public async Task Chat_json_schema_output_validates_for_every_seed_streamed_and_not()
    {
        for (var seed = 1; seed <= 3; seed++)
        {
            var request = $$"""
                {"model":"stories-chat","messages":[{"role":"user","content":"Describe a person."}],"max_tokens":200,"seed":{{seed}},
                 "response_format":{"type":"json_schema","json_schema":{"name":"person","strict":true,"schema":{{PersonSchema}} } } }
                """;
            var (status, body) = await _server.Http.PostJsonAsync("v1/chat/completions", request);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("stop", body["choices"]![0]!["finish_reason"]!.GetValue<string>());
            var whole = body["choices"]![0]!["message"]!["content"]!.GetValue<string>();
            AssertValid(PersonSchema, whole);

            var streamed = await StreamedContentAsync(request.Replace("\"max_tokens\"", "\"stream\":true,\"max_tokens\"", StringComparison.Ordinal));
            Assert.Equal(whole, streamed);
        }
    }

    [Fact]
    public async Task Completions_json_object_yields_a_json_object()
    {
        var (status, body) = await _server.Http.PostJsonAsync("v1/completions",
            """{"model":"stories","prompt":"Once upon a time","max_tokens":300,"temperature":0,"response_format":{"type":"json_object"}}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var text = body["choices"]![0]!["text"]!.GetValue<string>();
        Assert.StartsWith("{", text);
        if (body["choices"]![0]!["finish_reason"]!.GetValue<string>() == "stop")
            Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(text).RootElement.ValueKind);
    }

    [Fact]
    public async Task The_official_sdk_gets_schema_constrained_output()
    {
        var options = new ChatCompletionOptions
        {
            MaxOutputTokenCount = 200,
            Temperature = 0.8f,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("person", BinaryData.FromString(PersonSchema), jsonSchemaIsStrict: true),
        };

        var completion = (await _server.Chat().CompleteChatAsync([new UserChatMessage("Describe a person.")], options)).Value;

        AssertValid(PersonSchema, completion.Content[0].Text);
    }

    [Fact]
    public async Task Ollama_format_takes_json_or_a_schema()
    {
        var (status, chat) = await _server.Http.PostJsonAsync("api/chat", $$"""
            {"model":"stories-chat","stream":false,"messages":[{"role":"user","content":"hi"}],"format":{{PersonSchema}},"options":{"seed":3,"num_predict":200} }
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        AssertValid(PersonSchema, chat["message"]!["content"]!.GetValue<string>());

        (status, var generated) = await _server.Http.PostJsonAsync("api/generate",
            """{"model":"stories","stream":false,"prompt":"Once upon a time","format":"json","options":{"temperature":0,"num_predict":300}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("{", generated["response"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unsupported_schema_part_is_a_400_naming_it()
    {
        var (status, body) = await _server.Http.PostJsonAsync("v1/chat/completions", """
            {"model":"stories-chat","messages":[{"role":"user","content":"hi"}],
             "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"id":{"type":"string","pattern":"^[a-z]+$"}}}}}}
            """);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Http.AssertOpenAiError(body, "invalid_request_error", "unsupported_schema", "response_format.json_schema.schema");
        Assert.Contains("/properties/id/pattern", error["message"]!.GetValue<string>());

        (status, body) = await _server.Http.PostJsonAsync("api/chat",
            """{"model":"stories-chat","stream":false,"messages":[{"role":"user","content":"hi"}],"format":{"type":"string","format":"email"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("/format", body["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_invalid_raw_grammar_is_a_400_and_the_runner_survives()
    {
        var (status, body) = await _server.Http.PostJsonAsync("v1/completions",
            """{"model":"stories","prompt":"Once","max_tokens":5,"grammar":"root ::= missing-rule"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "invalid_grammar");

        (status, body) = await _server.Http.PostJsonAsync("v1/completions",
            """{"model":"stories","prompt":"Once","max_tokens":10,"grammar":"root ::= \"ab\" [0-9]"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Matches("^ab[0-9]$", body["choices"]![0]!["text"]!.GetValue<string>());
    }

    private async Task<string> StreamedContentAsync(string request)
    {
        using var response = await _server.Http.PostAsync("v1/chat/completions", Http.Json(request));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = new StringBuilder();
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal)) continue;
            var chunk = JsonNode.Parse(line["data: ".Length..])!;
            if (chunk["choices"] is JsonArray { Count: > 0 } choices && choices[0]!["delta"]!["content"] is { } content)
                text.Append(content.GetValue<string>());
        }
        return text.ToString();
    }
}
