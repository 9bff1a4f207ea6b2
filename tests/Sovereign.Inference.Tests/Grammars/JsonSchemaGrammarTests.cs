using System.Text.Json;
using Json.Schema;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Inference.Grammars;
using static Sovereign.Inference.Tests.Streams;

namespace Sovereign.Inference.Tests.Grammars;

/// <summary>
/// Every schema in the table is compiled, then generated against the real model with several seeds; every output must
/// parse and validate (JsonSchema.Net), whatever the tiny model would have liked to write.
/// </summary>
[Collection(RealModelCollection.Name)]
public class JsonSchemaGrammarTests
{
    public static TheoryData<string, string> Schemas => new()
    {
        { "enum", """{"type":"string","enum":["red","green","blue"]}""" },
        { "flat object", """{"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":8},"age":{"type":"integer","minimum":0,"maximum":120},"ok":{"type":"boolean"}},"required":["name","age","ok"],"additionalProperties":false}""" },
        { "optional properties", """{"type":"object","properties":{"a":{"type":"integer","minimum":-5,"maximum":5},"b":{"type":"null"},"c":{"const":"fixed"},"d":{"type":"boolean"}},"required":["c"]}""" },
        { "bounded array", """{"type":"array","items":{"type":"integer","minimum":10,"maximum":99},"minItems":2,"maxItems":4}""" },
        { "nested", """{"type":"object","properties":{"person":{"type":"object","properties":{"first":{"type":"string","maxLength":6},"tags":{"type":"array","items":{"enum":["a","b",1,null]},"maxItems":3}},"required":["first","tags"]},"score":{"type":"number"}},"required":["person","score"]}""" },
        { "ref and defs", """{"$defs":{"point":{"type":"object","properties":{"x":{"type":"integer","minimum":-100,"maximum":100},"y":{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":1000}},"required":["x","y"],"additionalProperties":false}},"type":"object","properties":{"from":{"$ref":"#/$defs/point"},"to":{"$ref":"#/$defs/point"}},"required":["from","to"]}""" },
        { "anyOf and type arrays", """{"type":"object","properties":{"v":{"anyOf":[{"type":"string","maxLength":4},{"type":"integer","minimum":1000,"maximum":1234}]},"w":{"type":["boolean","null"]}},"required":["v","w"]}""" },
        { "oneOf with a discriminator", """{"oneOf":[{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"integer","minimum":1,"maximum":9}},"required":["kind","r"]},{"type":"object","properties":{"kind":{"const":"square"},"side":{"type":"integer","minimum":1,"maximum":9}},"required":["kind","side"]}]}""" },
        { "recursive tree", """{"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer","minimum":0,"maximum":9},"kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["v"]}},"$ref":"#/$defs/node"}""" },
        { "strings with escapes", """{"type":"array","items":{"type":"string","minLength":3,"maxLength":6},"minItems":1,"maxItems":2}""" },
    };

    [Theory]
    [MemberData(nameof(Schemas))]
    public async Task Generated_output_always_parses_and_validates(string name, string schemaText)
    {
        using var document = JsonDocument.Parse(schemaText);
        var grammar = JsonSchemaGrammar.Compile(document.RootElement);
        var validator = JsonSchema.FromText(schemaText);
        using var engine = TestModel.Load(s => s.Slots = 4);

        // Four seeds at once: they share the batch, each with its own copy of the grammar.
        var runs = Enumerable.Range(1, 4).Select(seed => engine.Submit(new GenerationRequest
        {
            Id = $"{name}-{seed}",
            Model = "stories260K",
            Prompt = "Once upon a time",
            MaxTokens = 400,
            Grammar = grammar,
            Sampling = new SamplingParameters { Temperature = 1.0f, Seed = (uint)seed },
        }, CancellationToken.None)).ToList();

        foreach (var run in runs)
        {
            var events = await CollectAsync(run);
            var text = TextOf(events);
            Assert.Equal(FinishReason.Stop, Finished(events).Reason);
            using var output = JsonDocument.Parse(text);
            var result = validator.Evaluate(output.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            Assert.True(result.IsValid, $"{name}: {text} does not validate: {string.Join("; ", (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")))}");
        }
    }

    [Fact]
    public async Task The_json_object_grammar_yields_an_object()
    {
        using var engine = TestModel.Load();
        for (uint seed = 1; seed <= 3; seed++)
        {
            var (text, finished) = await RunAsync(engine, new GenerationRequest
            {
                Id = "obj",
                Model = "stories260K",
                Prompt = "Once upon a time",
                MaxTokens = 400,
                Grammar = JsonSchemaGrammar.AnyObject,
                Sampling = SamplingParameters.Greedy with { Seed = seed },
            });
            if (finished.Reason == FinishReason.Stop)
                Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(text).RootElement.ValueKind);
            Assert.StartsWith("{", text);
        }
    }

    [Theory]
    [InlineData("""{"type":"string","pattern":"^a+$"}""", "/pattern")]
    [InlineData("""{"type":"object","properties":{"when":{"type":"string","format":"date-time"}}}""", "/properties/when/format")]
    [InlineData("""{"type":"number","minimum":0.5}""", "/")]
    [InlineData("""{"type":"array","items":{"not":{"type":"null"}}}""", "/items/not")]
    [InlineData("""{"oneOf":[{"type":"integer"},{"type":"number"}]}""", "/oneOf")]
    [InlineData("""{"$ref":"https://example.org/schema.json"}""", "/$ref")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string"}},"required":["b"]}""", "/required")]
    [InlineData("""{"type":"string","maxLength":100000}""", "/maxLength")]
    [InlineData("""{"type":"array","uniqueItems":true}""", "/uniqueItems")]
    [InlineData("""{"allOf":[{"type":"string"},{"maxLength":3}]}""", "/allOf")]
    public void A_schema_part_that_cannot_be_enforced_is_a_400_naming_its_pointer(string schema, string pointer)
    {
        using var document = JsonDocument.Parse(schema);

        var e = Assert.Throws<SovereignException>(() => JsonSchemaGrammar.Compile(document.RootElement, "response_format.json_schema.schema"));

        Assert.Equal(ErrorKind.InvalidRequest, e.Kind);
        Assert.Equal("unsupported_schema", e.Code);
        Assert.Equal("response_format.json_schema.schema", e.Param);
        Assert.Contains($"at '{pointer}'", e.Message);
    }

    [Fact]
    public void A_malformed_schema_is_a_400_invalid_schema()
    {
        using var document = JsonDocument.Parse("""{"type":"object","properties":[1,2]}""");
        var e = Assert.Throws<SovereignException>(() => JsonSchemaGrammar.Compile(document.RootElement));
        Assert.Equal("invalid_schema", e.Code);
        Assert.Contains("/properties", e.Message);
    }

    [Theory]
    [InlineData(-3, 12)]
    [InlineData(95, 1003)]
    [InlineData(-250, -7)]
    public async Task Integer_bounds_hold_for_every_seed(int min, int max)
    {
        using var document = JsonDocument.Parse($$"""{"type":"integer","minimum":{{min}},"maximum":{{max}}}""");
        var grammar = JsonSchemaGrammar.Compile(document.RootElement);
        using var engine = TestModel.Load();
        var seen = new HashSet<long>();
        for (uint seed = 1; seed <= 12; seed++)
        {
            var (text, _) = await RunAsync(engine, new GenerationRequest
            {
                Id = "int",
                Model = "stories260K",
                Prompt = "The number is",
                MaxTokens = 20,
                Grammar = grammar,
                Sampling = new SamplingParameters { Temperature = 1.5f, Seed = seed },
            });
            var value = long.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(value, min, max);
            seen.Add(value);
        }
        Assert.True(seen.Count > 1, "sampling with different seeds should reach more than one value");
    }
}
