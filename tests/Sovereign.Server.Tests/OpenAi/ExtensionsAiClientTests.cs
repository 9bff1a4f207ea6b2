using System.Text;
using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.AI;
using Sovereign.Server.Tests.EndToEnd;

namespace Sovereign.Server.Tests.OpenAi;

/// <summary>
/// A .NET application's <see cref="IChatClient"/> from Microsoft.Extensions.AI.OpenAI, pointed at Sovereign over HTTP:
/// the abstraction .NET code already uses works unchanged, plain, streamed, and with a required tool call (the grammar
/// makes the tiny model write a valid call; its prose is not judged).
/// </summary>
[Collection(SharedServerCollection.Name)]
public sealed class ExtensionsAiClientTests(SharedServerFixture fixture)
{
    private readonly IChatClient _client = fixture.Server.Chat().AsIChatClient();

    [Fact]
    public async Task A_plain_answer_and_a_streamed_one_are_the_same_text_with_usage()
    {
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 16, Seed = 1 };
        var response = await _client.GetResponseAsync("Once upon a time", options);
        Assert.False(string.IsNullOrWhiteSpace(response.Text));
        Assert.True(response.Usage?.OutputTokenCount > 0);

        var streamed = new StringBuilder();
        var updates = 0;
        await foreach (var update in _client.GetStreamingResponseAsync("Once upon a time", options))
        {
            streamed.Append(update.Text);
            updates++;
        }
        Assert.Equal(response.Text, streamed.ToString());
        Assert.True(updates > 1, $"expected the answer in several updates, got {updates}");
    }

    [Fact]
    public async Task A_required_tool_call_arrives_as_function_call_content_with_valid_arguments()
    {
        var weather = AIFunctionFactory.Create((string city, int days) => $"{city}: sunny for {days} days", "get_weather", "Weather forecast");
        var options = new ChatOptions { Tools = [weather], ToolMode = ChatToolMode.RequireAny, AllowMultipleToolCalls = false, Temperature = 0, MaxOutputTokens = 200, Seed = 3 };

        var response = await _client.GetResponseAsync("What is the weather in Paris?", options);

        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        var arguments = JsonSerializer.SerializeToElement(call.Arguments);
        Assert.True(JsonSchema.FromText(weather.JsonSchema.GetRawText()).Evaluate(arguments).IsValid, arguments.GetRawText());
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
    }
}
