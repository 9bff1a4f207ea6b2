using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Models.Gguf;
using Sovereign.Models.Store;
using Sovereign.Server.Tests.Infrastructure;
using Sovereign.TestSupport;

namespace Sovereign.Server.Tests.EndToEnd;

/// <summary>
/// Issue 4, item 8, with a vision projector: a model imported with an mmproj GGUF gets the images themselves through
/// llama.cpp's multimodal library, in the runner process, instead of their OCR text. The projector is synthetic (random
/// weights in llama.cpp's CLIP layout, 16 image tokens per image); the tiny model cannot see, so what is checked is that
/// each image arrives as its tokens and changes the answer.
/// </summary>
[Collection(SharedServerCollection.Name)]
public sealed class VisionChatTests(SharedServerFixture fixture)
{
    private const string VisionModel = "stories-vision";
    private const int ImageTokens = 16;
    private readonly SovereignTestServer _server = fixture.Server;

    private async Task EnsureVisionModelAsync()
    {
        var store = _server.Services.GetRequiredService<IModelStore>();
        if (store.Find(VisionModel)?.ProjectorDigest is not null) return;
        await store.ImportAsync(TestModels.Stories260K, ModelName.Parse(VisionModel), "chatml");
        var projector = Path.Combine(_server.Home, "mmproj.gguf");
        SyntheticVisionProjector.Write(projector, new SyntheticVisionOptions { TextEmbeddingLength = 64 });
        await store.SetProjectorAsync(VisionModel, projector);
    }

    private static string DataUrl(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    private static JsonObject Request(params JsonNode[] parts) => new()
    {
        ["model"] = VisionModel,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = new JsonArray(parts) }),
        ["max_tokens"] = 8,
        ["temperature"] = 0,
        ["ignore_eos"] = true,
    };

    private static JsonObject Text(string text) => new() { ["type"] = "text", ["text"] = text };

    private static JsonObject Image(byte[] png) => new() { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = DataUrl(png) } };

    private async Task<JsonNode> CompleteAsync(JsonObject request)
    {
        var (status, body) = await _server.Http.PostJsonAsync("v1/chat/completions", request.ToJsonString());
        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        return body;
    }

    [Fact]
    public async Task Each_image_reaches_a_model_with_a_projector_as_its_image_tokens_and_changes_the_answer()
    {
        await EnsureVisionModelAsync();
        var cat = TestDocuments.PngOfText("cat");
        var invoice = TestDocuments.PngOfText("Invoice total\nseventy dollars");

        // Parts are joined with newlines: the empty text part gives the one-image request the same text as the two-image one.
        var one = await CompleteAsync(Request(Text("What is this?"), Image(cat), Text("")));
        var two = await CompleteAsync(Request(Text("What is this?"), Image(cat), Image(invoice)));
        var other = await CompleteAsync(Request(Text("What is this?"), Image(invoice), Text("")));
        var again = await CompleteAsync(Request(Text("What is this?"), Image(cat), Text("")));

        Assert.Equal(ImageTokens, (int)two["usage"]!["prompt_tokens"]! - (int)one["usage"]!["prompt_tokens"]!);
        Assert.Equal(8, (int)one["usage"]!["completion_tokens"]!);
        string Answer(JsonNode n) => (string)n["choices"]![0]!["message"]!["content"]!;
        Assert.Equal(Answer(one), Answer(again));
        Assert.NotEqual(Answer(one), Answer(other));
    }

    [Fact]
    public async Task Ollama_chat_images_reach_a_model_with_a_projector_as_image_tokens()
    {
        await EnsureVisionModelAsync();
        var cat = Convert.ToBase64String(TestDocuments.PngOfText("cat"));

        async Task<int> PromptTokensAsync(string images)
        {
            var (status, body) = await _server.Http.PostJsonAsync("api/chat", $$$"""
                {"model":"{{{VisionModel}}}","stream":false,"options":{"num_predict":2,"temperature":0},
                 "messages":[{"role":"user","content":"What is this?","images":[{{{images}}}]}]}
                """);
            Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
            return (int)body["prompt_eval_count"]!;
        }

        var one = await PromptTokensAsync($"\"{cat}\"");
        var two = await PromptTokensAsync($"\"{cat}\",\"{cat}\"");

        // Each image adds its placeholder's line break as text, so the second costs its image tokens and one more.
        Assert.InRange(two - one, ImageTokens, ImageTokens + 2);
    }

    [Fact]
    public async Task An_image_a_vision_model_cannot_take_is_refused_from_its_bytes_before_decoding()
    {
        await EnsureVisionModelAsync();

        var tiff = await _server.Http.PostJsonAsync("v1/chat/completions",
            Request(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "data:image/tiff;base64," + Convert.ToBase64String(TestDocuments.TiffOfText("page")) } }).ToJsonString());
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, tiff.Status);
        Http.AssertOpenAiError(tiff.Body, "invalid_request_error", "unsupported_image", "messages[0].content[0].image_url.url");

        var huge = await _server.Http.PostJsonAsync("v1/chat/completions", Request(Image(TestDocuments.HugePng(20_000, 20_000))).ToJsonString());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.Status);
        Http.AssertOpenAiError(huge.Body, "invalid_request_error", "image_too_large", "messages[0].content[0].image_url.url");
    }

    [Fact]
    public async Task Text_typed_as_the_image_placeholder_is_plain_text_and_never_an_image()
    {
        await EnsureVisionModelAsync();

        var typed = await CompleteAsync(Request(Text("look \uFFFC here"), Image(TestDocuments.PngOfText("cat"))));
        var plain = await CompleteAsync(Request(Text("look  here"), Image(TestDocuments.PngOfText("cat"))));

        Assert.Equal((int)plain["usage"]!["prompt_tokens"]!, (int)typed["usage"]!["prompt_tokens"]!);
    }
}
