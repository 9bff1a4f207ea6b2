using System.Text.Json;
using Json.Schema;
using Sovereign.Agents.ToolCalling;
using Sovereign.Core.Generation;

namespace Sovereign.Agents.Tests.ToolCalling;

[Collection(RealModelCollection.Name)]
public class ForcedToolCallTests
{
    private const string WeatherSchema = """
        {"type":"object","properties":{"city":{"type":"string","minLength":1,"maxLength":12},"unit":{"enum":["c","f"]},"days":{"type":"integer","minimum":1,"maximum":7}},
         "required":["city","unit","days"],"additionalProperties":false}
        """;

    private static readonly ToolDefinition Weather = new("get_weather", "Weather forecast", JsonDocument.Parse(WeatherSchema).RootElement.Clone());
    private static readonly ToolDefinition Time = new("get_time", null, JsonDocument.Parse("""{"type":"object","properties":{"zone":{"type":"string","maxLength":8}},"required":["zone"]}""").RootElement.Clone());

    public static TheoryData<string> Families => ["hermes", "llama3", "mistral"];

    private static ToolCallFormat FormatOf(string family) => family switch
    {
        "llama3" => ToolCallFormats.Llama3,
        "mistral" => ToolCallFormats.Mistral,
        _ => ToolCallFormats.Hermes,
    };

    [Theory]
    [MemberData(nameof(Families))]
    public async Task A_forced_call_parses_back_into_calls_whose_arguments_validate(string family)
    {
        using var engine = TestModel.Load();
        var plan = ToolCallingPlan.Create([new ChatTurn("user", "Weather in Paris?")], [Weather, Time], ToolChoice.Required, parallel: true, FormatOf(family));
        for (uint seed = 1; seed <= 4; seed++)
        {
            var text = await GenerateAsync(engine, plan, seed);
            var output = plan.ParseOutput(text);
            Assert.True(output.Calls.Count > 0, $"{family}: no call parsed from {text}");
            Assert.Null(output.Content);
            foreach (var call in output.Calls)
            {
                var schema = call.Name == "get_weather" ? WeatherSchema : """{"type":"object","properties":{"zone":{"type":"string","maxLength":8}},"required":["zone"]}""";
                using var args = JsonDocument.Parse(call.Arguments);
                Assert.True(JsonSchema.FromText(schema).Evaluate(args.RootElement).IsValid, $"{family}: {call.Name}({call.Arguments})");
            }
        }
    }

    [Fact]
    public async Task A_named_choice_calls_only_that_function()
    {
        using var engine = TestModel.Load();
        var plan = ToolCallingPlan.Create([new ChatTurn("user", "x")], [Weather, Time], ToolChoice.Function("get_time"), parallel: true, ToolCallFormats.Hermes);
        for (uint seed = 1; seed <= 3; seed++)
        {
            var output = plan.ParseOutput(await GenerateAsync(engine, plan, seed));
            Assert.Equal("get_time", Assert.Single(output.Calls).Name);
        }
    }

    internal static async Task<string> GenerateAsync(Sovereign.Inference.Engine.LlamaEngine engine, ToolCallingPlan plan, uint seed)
    {
        var events = engine.Submit(new GenerationRequest
        {
            Id = "t",
            Model = "stories",
            Messages = plan.Messages,
            MaxTokens = 300,
            Grammar = plan.Grammar,
            Sampling = new SamplingParameters { Temperature = 1.0f, Seed = seed },
        }, CancellationToken.None);
        var text = new System.Text.StringBuilder();
        await foreach (var e in events.ReadAllAsync())
        {
            if (e is GenerationEvent.TextDelta d) text.Append(d.Text);
            if (e is GenerationEvent.Failed f) Assert.Fail(f.Message);
            if (e is GenerationEvent.Finished fin) Assert.Equal(FinishReason.Stop, fin.Reason);
        }
        return text.ToString();
    }
}
