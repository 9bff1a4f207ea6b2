using System.ClientModel;
using System.Net;
using OpenAI;
using OpenAI.Chat;
using Sovereign.Core.Generation;
using Sovereign.Server.Tests.Infrastructure;
using Sovereign.TestSupport;
using ChatMessage = OpenAI.Chat.ChatMessage;

namespace Sovereign.Server.Tests.OpenAi;

/// <summary>Issue 4, item 8: images in chat as data: URLs, read through OCR (real Tesseract) into the prompt.</summary>
public sealed class ChatImageTests : IAsyncLifetime
{
    private readonly ScriptedInference _engine = new(ScriptedInference.Story(FinishReason.Stop, "ok"));
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(inference: _engine);
        await _host.ImportModelAsync("stories");
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_png_sent_as_a_data_url_reaches_the_prompt_as_its_text_in_a_framed_block()
    {
        var png = TestDocuments.PngOfText("Invoice total\nseventy dollars");
        var client = new OpenAIClient(new ApiKeyCredential(TestHost.ConfiguredAdminKey), new OpenAIClientOptions { Endpoint = new Uri(_host.Address, "v1") });

        ChatCompletion completion = await client.GetChatClient("stories").CompleteChatAsync(
            [ChatMessage.CreateUserMessage(ChatMessageContentPart.CreateTextPart("What does this say?"), ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(png), "image/png"))]);

        Assert.Equal("ok", completion.Content[0].Text);
        var prompt = Assert.Single(Assert.Single(_engine.Requests).Messages!).Content;
        Assert.StartsWith("What does this say?\n[Image 1: text read from the image by OCR]\n", prompt, StringComparison.Ordinal);
        Assert.EndsWith("\n[End of image 1]", prompt, StringComparison.Ordinal);
        Assert.Contains("Invoice", prompt, StringComparison.Ordinal);
        Assert.Contains("seventy", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("\u0001", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ollama_chat_images_reach_the_prompt_as_their_text_before_the_message()
    {
        var png = Convert.ToBase64String(TestDocuments.PngOfText("Invoice total\nseventy dollars"));

        var (status, body) = await _host.AdminClient().PostJsonAsync("api/chat", $$$"""
            {"model":"stories","stream":false,"messages":[{"role":"user","content":"What does this say?","images":["{{{png}}}"]}]}
            """);

        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        var prompt = Assert.Single(Assert.Single(_engine.Requests).Messages!).Content;
        Assert.StartsWith("[Image 1: text read from the image by OCR]\n", prompt, StringComparison.Ordinal);
        Assert.EndsWith("[End of image 1]\nWhat does this say?", prompt, StringComparison.Ordinal);
        Assert.Contains("seventy", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ollama_chat_bytes_that_are_no_image_are_refused_without_reaching_the_model()
    {
        var text = Convert.ToBase64String("just some text"u8.ToArray());

        var (status, body) = await _host.AdminClient().PostJsonAsync("api/chat", $$$"""
            {"model":"stories","stream":false,"messages":[{"role":"user","content":"Hi","images":["{{{text}}}"]}]}
            """);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Contains("messages[0].images[0]", body["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_engine.Requests);
    }

    [Fact]
    public async Task A_remote_image_url_is_400_because_the_server_never_fetches()
    {
        var (status, body) = await _host.AdminClient().PostJsonAsync("v1/chat/completions", """
            {"model":"stories","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://127.0.0.1:9/cat.png"}}]}]}
            """);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Http.AssertOpenAiError(body, "invalid_request_error", "remote_image_url", "messages[0].content[0].image_url.url");
        Assert.Contains("never fetches", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_engine.Requests);
    }

    [Fact]
    public async Task A_data_url_that_is_not_an_image_is_415_pointing_at_the_part()
    {
        var text = Convert.ToBase64String("just some text"u8.ToArray());
        var (status, body) = await _host.AdminClient().PostJsonAsync("v1/chat/completions", $$$"""
            {"model":"stories","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,{{{text}}}"}}]}]}
            """);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "unsupported_image", "messages[0].content[0].image_url.url");
        Assert.Empty(_engine.Requests);
    }

    [Fact]
    public async Task An_image_of_twenty_thousand_pixels_square_in_chat_is_413_from_its_header()
    {
        var png = Convert.ToBase64String(TestDocuments.HugePng(20_000, 20_000));
        var (status, body) = await _host.AdminClient().PostJsonAsync("v1/chat/completions", $$$"""
            {"model":"stories","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,{{{png}}}"}}]}]}
            """);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "image_too_large", "messages[0].content[0].image_url.url");
        Assert.Empty(_engine.Requests);
    }
}
