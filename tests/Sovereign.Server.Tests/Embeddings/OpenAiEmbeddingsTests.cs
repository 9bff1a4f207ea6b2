using System.ClientModel;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using OpenAI.Embeddings;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Embeddings;

/// <summary><c>POST /v1/embeddings</c> through the official OpenAI .NET SDK and on the wire, with the built-in model.</summary>
[Collection(EmbeddingsServerCollection.Name)]
public sealed class OpenAiEmbeddingsTests(EmbeddingsServerFixture fixture)
{
    [Fact]
    public async Task The_sdk_gets_unit_vectors_where_a_paraphrase_is_nearer_than_an_unrelated_sentence()
    {
        var result = (await fixture.OpenAi().GenerateEmbeddingsAsync([
            "The patient was given antibiotics for the infection.",
            "Antibiotics were prescribed to treat the patient's infection.",
            "The football match ended in a draw.",
        ])).Value;

        Assert.Equal("all-minilm", result.Model);
        Assert.Equal([0, 1, 2], result.Select(e => e.Index));
        var v = result.Select(e => e.ToFloats()).ToArray();
        Assert.All(v, e => Assert.Equal(384, e.Length));
        Assert.All(v, e => Assert.Equal(1.0, Math.Sqrt(Vectors.Dot(e.Span, e.Span)), 3));
        Assert.True(Vectors.Dot(v[0].Span, v[1].Span) > Vectors.Dot(v[0].Span, v[2].Span) + 0.3f);
        Assert.True(result.Usage.InputTokenCount > 6);
        Assert.Equal(result.Usage.InputTokenCount, result.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Dimensions_equal_to_the_models_are_accepted_and_others_are_a_400()
    {
        var client = fixture.OpenAi();

        var same = (await client.GenerateEmbeddingAsync("hello", new EmbeddingGenerationOptions { Dimensions = 384 })).Value;
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            client.GenerateEmbeddingAsync("hello", new EmbeddingGenerationOptions { Dimensions = 128 }));

        Assert.Equal(384, same.ToFloats().Length);
        Assert.Equal(400, error.Status);
        Assert.Contains("384", error.Message);
    }

    [Fact]
    public async Task Token_id_inputs_are_a_400_saying_to_send_text()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            fixture.OpenAi().GenerateEmbeddingsAsync([new ReadOnlyMemory<int>([101, 7592, 102])]));

        Assert.Equal(400, error.Status);
        Assert.Contains("token ids", error.Message);
    }

    [Fact]
    public async Task Base64_decodes_to_the_same_floats_as_the_float_encoding()
    {
        const string Body = """{"model":"all-minilm","input":["first text","second text"],"encoding_format":"%"}""";
        var (floatStatus, floats) = await fixture.Server.Http.PostJsonAsync("v1/embeddings", Body.Replace("%", "float"));
        var (base64Status, base64) = await fixture.Server.Http.PostJsonAsync("v1/embeddings", Body.Replace("%", "base64"));

        Assert.Equal(HttpStatusCode.OK, floatStatus);
        Assert.Equal(HttpStatusCode.OK, base64Status);
        for (var i = 0; i < 2; i++)
        {
            var expected = floats["data"]![i]!["embedding"]!.AsArray().Select(n => n!.GetValue<float>()).ToArray();
            var bytes = Convert.FromBase64String(base64["data"]![i]!["embedding"]!.GetValue<string>());
            var decoded = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            Assert.Equal(expected, decoded);
        }
    }

    [Fact]
    public async Task The_response_has_openais_shape()
    {
        var (status, body) = await fixture.Server.Http.PostJsonAsync("v1/embeddings", """{"model":"all-minilm","input":"hello"}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["object", "data", "model", "usage"], body.AsObject().Select(p => p.Key));
        Assert.Equal("list", body["object"]!.GetValue<string>());
        var item = body["data"]!.AsArray().Single()!.AsObject();
        Assert.Equal(["object", "index", "embedding"], item.Select(p => p.Key));
        Assert.Equal("embedding", item["object"]!.GetValue<string>());
        Assert.Equal(384, item["embedding"]!.AsArray().Count);
        Assert.Equal(3, body["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(3, body["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_batch_gives_the_same_vectors_as_one_request_per_input()
    {
        string[] texts = ["Article 7 covers annual leave.", "ok", "Staff may carry over five days of leave into the next year."];
        var client = fixture.OpenAi();

        var batch = (await client.GenerateEmbeddingsAsync(texts)).Value;
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = (await client.GenerateEmbeddingAsync(texts[i])).Value;
            Assert.Equal(1.0f, Vectors.Dot(batch[i].ToFloats().Span, alone.ToFloats().Span), 4);
        }
    }

    [Theory]
    [InlineData("""{"model":"no-such-model","input":"hello"}""", HttpStatusCode.NotFound, "model_not_found", "model")]
    [InlineData("""{"model":"all-minilm","input":""}""", HttpStatusCode.BadRequest, "empty_input", "input")]
    [InlineData("""{"model":"all-minilm","input":[]}""", HttpStatusCode.BadRequest, "empty_input", "input")]
    [InlineData("""{"model":"all-minilm"}""", HttpStatusCode.BadRequest, "missing_required_parameter", "input")]
    [InlineData("""{"input":"hello"}""", HttpStatusCode.BadRequest, "missing_required_parameter", "model")]
    [InlineData("""{"model":"all-minilm","input":"hello","encoding_format":"int8"}""", HttpStatusCode.BadRequest, "invalid_value", "encoding_format")]
    [InlineData("""{"model":"all-minilm","input":[[1,2,3]]}""", HttpStatusCode.BadRequest, "unsupported_parameter", "input")]
    [InlineData("""{"model":"all-minilm","input":42}""", HttpStatusCode.BadRequest, "invalid_type", "input")]
    [InlineData("""{"model":"all-minilm","input":"hello","dimensions":0}""", HttpStatusCode.BadRequest, "invalid_value", "dimensions")]
    [InlineData("""{"model":"all-minilm","input":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}""", HttpStatusCode.BadRequest, "too_many_inputs", "input")]
    public async Task Bad_requests_get_the_right_status_and_an_openai_error(string json, HttpStatusCode expected, string code, string param)
    {
        var (status, body) = await fixture.Server.Http.PostJsonAsync("v1/embeddings", json);

        Assert.Equal(expected, status);
        Http.AssertOpenAiError(body, "invalid_request_error", code, param);
    }

    [Fact]
    public async Task An_input_longer_than_the_model_reads_is_a_400_naming_the_limit()
    {
        var text = string.Join(' ', Enumerable.Repeat("word", 600));
        var (status, body) = await fixture.Server.Http.PostJsonAsync("v1/embeddings",
            new JsonObject { ["model"] = "all-minilm", ["input"] = text }.ToJsonString());

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Http.AssertOpenAiError(body, "invalid_request_error", "input_too_long", "input");
        Assert.Contains("512", error["message"]!.GetValue<string>());
    }
}
