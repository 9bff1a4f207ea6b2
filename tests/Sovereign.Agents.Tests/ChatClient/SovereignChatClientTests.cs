using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.AI;
using Sovereign.Agents.ChatClient;
using Sovereign.Core.Generation;
using Sovereign.Inference.Engine;

namespace Sovereign.Agents.Tests.ChatClient;

/// <summary>The IChatClient over the real engine in-process (stories260K with the chatml template).</summary>
[Collection(RealModelCollection.Name)]
public sealed class SovereignChatClientTests : IDisposable
{
    private const string WeatherSchema = """
        {"type":"object","properties":{"city":{"type":"string","minLength":1,"maxLength":12},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],"additionalProperties":false}
        """;

    private readonly LlamaEngine _engine = TestModel.Load();
    private readonly SovereignChatClient _client;

    public SovereignChatClientTests() => _client = new SovereignChatClient(new EngineInference(_engine), "stories", "chatml");

    public void Dispose()
    {
        _client.Dispose();
        _engine.Dispose();
    }

    private static AIFunctionDeclaration Weather() =>
        AIFunctionFactory.CreateDeclaration("get_weather", "Weather forecast", JsonDocument.Parse(WeatherSchema).RootElement.Clone());

    private static void AssertValid(IDictionary<string, object?>? arguments)
    {
        var json = JsonSerializer.Serialize(arguments);
        using var document = JsonDocument.Parse(json);
        Assert.True(JsonSchema.FromText(WeatherSchema).Evaluate(document.RootElement).IsValid, json);
    }

    [Fact]
    public async Task Text_streamed_and_not_is_the_same_for_greedy_decoding()
    {
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 30 };
        var whole = await _client.GetResponseAsync("Once upon a time", options);
        var streamed = new List<ChatResponseUpdate>();
        await foreach (var update in _client.GetStreamingResponseAsync("Once upon a time", options))
            streamed.Add(update);

        Assert.False(string.IsNullOrEmpty(whole.Text));
        Assert.Equal(whole.Text, string.Concat(streamed.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.Length, whole.FinishReason);
        Assert.Equal(30, whole.Usage!.OutputTokenCount);
        Assert.True(streamed.Count > 3);
    }

    [Fact]
    public async Task A_required_tool_comes_back_as_function_call_content_streamed_and_not()
    {
        var options = new ChatOptions { Tools = [Weather()], ToolMode = ChatToolMode.RequireAny, MaxOutputTokens = 400, Seed = 5, AllowMultipleToolCalls = false };

        var response = await _client.GetResponseAsync("Weather in Paris?", options);
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.StartsWith("call_", call.CallId);
        AssertValid(call.Arguments);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in _client.GetStreamingResponseAsync("Weather in Paris?", options))
            updates.Add(update);
        var streamedCall = Assert.Single(updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>());
        AssertValid(streamedCall.Arguments);
        Assert.Equal(ChatFinishReason.ToolCalls, updates[^1].FinishReason);

        // The call and its result go back; the next answer is text.
        List<Microsoft.Extensions.AI.ChatMessage> history =
        [
            new(ChatRole.User, "Weather in Paris?"),
            new(ChatRole.Assistant, [call]),
            new(ChatRole.Tool, [new FunctionResultContent(call.CallId, "sunny, 21 C")]),
        ];
        var answer = await _client.GetResponseAsync(history, new ChatOptions { Tools = [Weather()], ToolMode = ChatToolMode.None, MaxOutputTokens = 10, Temperature = 0 });
        Assert.Empty(answer.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.False(string.IsNullOrEmpty(answer.Text));
    }

    [Fact]
    public async Task A_json_schema_response_format_yields_valid_json()
    {
        var options = new ChatOptions
        {
            MaxOutputTokens = 300,
            Seed = 2,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(WeatherSchema).RootElement.Clone(), "weather"),
        };

        var response = await _client.GetResponseAsync("Weather?", options);

        using var document = JsonDocument.Parse(response.Text);
        Assert.True(JsonSchema.FromText(WeatherSchema).Evaluate(document.RootElement).IsValid, response.Text);
    }

    [Fact]
    public void The_client_describes_itself()
    {
        var metadata = Assert.IsType<ChatClientMetadata>(_client.GetService(typeof(ChatClientMetadata)));
        Assert.Equal("sovereign", metadata.ProviderName);
        Assert.Equal("stories", metadata.DefaultModelId);
        Assert.Same(_client, _client.GetService(typeof(IChatClient)));
    }
}
