using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OllamaSharp.Models;
using Sovereign.Server.Tests.EndToEnd;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Embeddings;

/// <summary>
/// An imported GGUF model (the real stories260K, imported as "stories") embedded by its real runner process, through
/// the OpenAI SDK and OllamaSharp. Its vectors carry no meaning; their shape, determinism and batching are checked.
/// </summary>
[Collection(EmbeddingsServerCollection.Name)]
public sealed class GgufEmbeddingsTests(EmbeddingsServerFixture fixture)
{
    [Fact]
    public async Task The_openai_sdk_embeds_with_an_imported_gguf_model_through_its_runner()
    {
        var result = (await fixture.OpenAi(SovereignTestServer.Model).GenerateEmbeddingsAsync(["Once upon a time", "The cat sat."])).Value;

        Assert.Equal("stories:latest", result.Model);
        Assert.Equal(2, result.Count);
        Assert.All(result, e => Assert.Equal(64, e.ToFloats().Length));
        Assert.All(result, e => Assert.Equal(1.0, Math.Sqrt(Vectors.Dot(e.ToFloats().Span, e.ToFloats().Span)), 3));
        Assert.True(result.Usage.InputTokenCount >= 4);
        Assert.Contains(fixture.Server.Services.GetRequiredService<Sovereign.Inference.Hosting.ModelManager>().Loaded(), m => m.Name == "stories:latest");
    }

    [Fact]
    public async Task A_gguf_batch_equals_one_request_per_input_and_repeats_exactly()
    {
        string[] texts = ["Lily went to the park.", "Ben had a big red ball and a small blue car.", "Sun."];
        var client = fixture.OpenAi(SovereignTestServer.Model);

        var batch = (await client.GenerateEmbeddingsAsync(texts)).Value;
        var again = (await client.GenerateEmbeddingsAsync(texts)).Value;
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = (await client.GenerateEmbeddingAsync(texts[i])).Value;
            Assert.Equal(1.0f, Vectors.Dot(batch[i].ToFloats().Span, alone.ToFloats().Span), 4);
            Assert.Equal(batch[i].ToFloats().ToArray(), again[i].ToFloats().ToArray());
        }
    }

    [Fact]
    public async Task OllamaSharp_embeds_with_the_gguf_model_and_dimensions_are_checked_against_it()
    {
        var response = await fixture.Ollama().EmbedAsync(new EmbedRequest { Model = "stories", Input = ["Tom and Sue played."] });
        var (status, body) = await fixture.Server.Http.PostJsonAsync("v1/embeddings", """{"model":"stories","input":"hi","dimensions":384}""");

        Assert.Equal(64, Assert.Single(response.Embeddings).Length);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("64", Http.AssertOpenAiError(body, "invalid_request_error", "unsupported_value", "dimensions")["message"]!.GetValue<string>());
    }
}
