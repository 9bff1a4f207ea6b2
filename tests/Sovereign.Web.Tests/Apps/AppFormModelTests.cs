using System.Text.Json.Nodes;
using Sovereign.Web.Apps;

namespace Sovereign.Web.Tests.Apps;

/// <summary>The app form reads a draft's fields and writes them back over the same draft, leaving the rest alone.</summary>
public sealed class AppFormModelTests
{
    private const string Draft = """
        {
          "id": "desk",
          "name": "Desk",
          "model": "m:1",
          "instructions": "Answer.",
          "languages": ["en", "fa"],
          "knowledge": { "bases": ["kb_1"], "top_k": 3 },
          "sampling": { "temperature": 0.5, "min_p": 0.05 },
          "translations": { "fa": { "name": "میز", "instructions": "پاسخ بده." } },
          "guardrails": { "declined_topics": ["politics"], "mask_personal_data": false }
        }
        """;

    [Fact]
    public void A_draft_read_and_written_unchanged_says_the_same()
    {
        var form = AppForm.Read(Draft);
        Assert.Equal("en, fa", form.Languages);
        Assert.Equal("پاسخ بده.", form.Instructions["fa"]);
        Assert.Equal(["kb_1"], form.KnowledgeBases);
        Assert.Equal("0.5", form.Sampling["temperature"]);
        Assert.False(form.MaskPersonalData);
        Assert.True(AppForm.Same(Draft, form.Write(Draft)));
    }

    [Fact]
    public void Fields_without_an_input_survive_and_cleared_fields_leave_the_draft()
    {
        var form = AppForm.Read(Draft);
        form.KnowledgeBases.Clear();
        form.Instructions["fa"] = "";
        form.Sampling["temperature"] = "";
        form.DeclinedTopics = "";
        var written = JsonNode.Parse(form.Write(Draft))!;
        // No bases: no knowledge at all (the schema wants at least one base when it is there).
        Assert.Null(written["knowledge"]);
        Assert.Equal("میز", written["translations"]!["fa"]!["name"]!.GetValue<string>());
        Assert.Null(written["translations"]!["fa"]!["instructions"]);
        Assert.Null(written["sampling"]!["temperature"]);
        Assert.Equal(0.05, written["sampling"]!["min_p"]!.GetValue<double>(), 6);
        Assert.Null(written["guardrails"]!["declined_topics"]);
    }

    [Fact]
    public void A_number_that_does_not_read_as_one_goes_to_the_server_as_typed_for_its_schema_to_refuse()
    {
        var form = AppForm.Read(Draft);
        form.Sampling["temperature"] = "hot";
        form.Sampling["max_tokens"] = "1.5";
        form.Sampling["top_k"] = "40";
        var sampling = JsonNode.Parse(form.Write(Draft))!["sampling"]!;
        Assert.Equal("hot", sampling["temperature"]!.GetValue<string>());
        Assert.Equal("1.5", sampling["max_tokens"]!.GetValue<string>());
        Assert.Equal(40, sampling["top_k"]!.GetValue<long>());
    }

    [Fact]
    public void A_draft_without_guardrails_keeps_none_while_masking_stays_on()
    {
        const string plain = """{ "id": "p", "name": "P", "model": "m:1", "instructions": "Answer." }""";
        Assert.Null(JsonNode.Parse(AppForm.Read(plain).Write(plain))!["guardrails"]);
    }

    [Fact]
    public void Yaml_is_not_read_as_a_form()
    {
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => AppForm.Read("name: Desk\nmodel: m:1\n"));
    }
}
