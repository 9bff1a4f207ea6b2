using System.Net;
using System.Text.Json.Nodes;
using OllamaSharp.Models;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Embeddings;

/// <summary>Ollama's <c>/api/embed</c> and <c>/api/embeddings</c> through OllamaSharp and on the wire, with the built-in model.</summary>
[Collection(EmbeddingsServerCollection.Name)]
public sealed class OllamaEmbeddingsTests(EmbeddingsServerFixture fixture)
{
    [Fact]
    public async Task OllamaSharp_embeds_a_batch_into_unit_vectors_with_a_token_count()
    {
        var response = await fixture.Ollama().EmbedAsync(new EmbedRequest
        {
            Model = "all-minilm",
            Input = ["The library opens at nine.", "The library's opening time is 9 am.", "Volcanoes erupt lava."],
        });

        Assert.Equal(3, response.Embeddings.Count);
        Assert.All(response.Embeddings, v => Assert.Equal(384, v.Length));
        Assert.All(response.Embeddings, v => Assert.Equal(1.0, Math.Sqrt(Vectors.Dot(v, v)), 3));
        Assert.True(Vectors.Dot(response.Embeddings[0], response.Embeddings[1]) > Vectors.Dot(response.Embeddings[0], response.Embeddings[2]));
        Assert.True(response.PromptEvalCount > 6);
        Assert.True(response.TotalDuration > 0);
    }

    [Fact]
    public async Task Embed_and_the_legacy_embeddings_endpoint_agree()
    {
        var (embedStatus, embed) = await fixture.Server.Http.PostJsonAsync("api/embed", """{"model":"all-minilm:latest","input":"same text"}""");
        var (legacyStatus, legacy) = await fixture.Server.Http.PostJsonAsync("api/embeddings", """{"model":"all-minilm","prompt":"same text"}""");

        Assert.Equal(HttpStatusCode.OK, embedStatus);
        Assert.Equal(HttpStatusCode.OK, legacyStatus);
        Assert.Equal("all-minilm", embed["model"]!.GetValue<string>());
        var a = embed["embeddings"]![0]!.AsArray().Select(n => n!.GetValue<float>()).ToArray();
        var b = legacy["embedding"]!.AsArray().Select(n => n!.GetValue<float>()).ToArray();
        Assert.Equal(a, b);
    }

    [Fact]
    public async Task Empty_input_answers_no_vectors_as_ollama_does()
    {
        var (status, body) = await fixture.Server.Http.PostJsonAsync("api/embed", """{"model":"all-minilm","input":[]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(body["embeddings"]!.AsArray());
    }

    [Fact]
    public async Task Long_input_is_truncated_by_default_and_refused_with_truncate_false()
    {
        var text = string.Join(' ', Enumerable.Repeat("word", 600));
        var (cutStatus, cut) = await fixture.Server.Http.PostJsonAsync("api/embed", new JsonObject { ["model"] = "all-minilm", ["input"] = text }.ToJsonString());
        var (refusedStatus, refused) = await fixture.Server.Http.PostJsonAsync("api/embed",
            new JsonObject { ["model"] = "all-minilm", ["input"] = text, ["truncate"] = false }.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, cutStatus);
        Assert.Equal(512, cut["prompt_eval_count"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.BadRequest, refusedStatus);
        Assert.Contains("512", refused["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_model_is_ollamas_404()
    {
        // OllamaSharp surfaces a 404 from /api/embed as the HTTP failure itself.
        var error = await Assert.ThrowsAsync<HttpRequestException>(() =>
            fixture.Ollama().EmbedAsync(new EmbedRequest { Model = "no-such-model", Input = ["hello"] }));
        var (status, body) = await fixture.Server.Http.PostJsonAsync("api/embed", """{"model":"no-such-model","input":"hello"}""");

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model 'no-such-model' not found", body["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_missing_model_is_a_400()
    {
        var (status, body) = await fixture.Server.Http.PostJsonAsync("api/embed", """{"input":"hello"}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("model is required", body["error"]!.GetValue<string>());
    }
}
