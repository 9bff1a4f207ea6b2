using Sovereign.Apps.Definitions;
using Sovereign.Core.Errors;

namespace Sovereign.Apps.Tests.Definitions;

public sealed class AppDocumentTests
{
    private const string Yaml = """
        id: hr-policies
        name: "Policy desk"
        model: stories-chat
        instructions: |
          Answer from the policies.
          Cite them.
        languages: [en, fa]
        sampling:
          temperature: 0.2
          max_tokens: 64
          seed: 7
        tools: [calculator, "mcp:files/read_file"]
        guardrails:
          mask_personal_data: false
          declined_topics: [salaries of named people]
        """;

    [Fact]
    public void A_yaml_document_reads_with_numbers_booleans_and_block_text()
    {
        var app = AppDocument.Load(Yaml);
        Assert.Equal("hr-policies", app.Id);
        Assert.Equal("Answer from the policies.\nCite them.\n", app.Instructions);
        Assert.Equal(0.2f, app.Sampling!.Temperature);
        Assert.Equal(64, app.Sampling.MaxTokens);
        Assert.Equal(7, app.Sampling.Seed);
        Assert.False(app.Guardrails!.MaskPersonalData);
        Assert.Equal(["calculator", "mcp:files/read_file"], app.Tools);
    }

    [Fact]
    public void The_same_app_in_json_reads_the_same()
    {
        var fromYaml = AppDocument.Load(Yaml);
        var fromJson = AppDocument.Load(fromYaml.ToJson());
        Assert.Equal(fromYaml.ToJson(), fromJson.ToJson());
    }

    [Fact]
    public void Every_schema_violation_is_reported_at_once_with_where_it_is()
    {
        var problems = AppDocument.Validate(AppDocument.Parse("""
            {"id": "Bad Id", "name": "x", "model": "m", "instructions": "i",
             "sampling": {"temperature": 3}, "colour": "blue", "tools": ["calc ulator"]}
            """));
        var text = string.Join("\n", problems);
        Assert.Contains(problems, p => p.Path == "/id");
        Assert.Contains(problems, p => p.Path == "/sampling/temperature");
        Assert.Contains(problems, p => p.Message.Contains("unknown field 'colour'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == "/tools/0");
        Assert.True(problems.Count >= 4, text);
    }

    [Fact]
    public void Missing_required_fields_are_named()
    {
        var e = Assert.Throws<SovereignException>(() => AppDocument.Load("name: only a name\n"));
        Assert.Equal(ErrorKind.InvalidRequest, e.Kind);
        Assert.Equal("invalid_app", e.Code);
        foreach (var field in new[] { "id", "model", "instructions" }) Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_quoted_yaml_number_stays_a_string_and_is_refused_where_a_number_belongs()
    {
        var problems = AppDocument.Validate(AppDocument.Parse("id: ab\nname: n\nmodel: m\ninstructions: i\nsampling:\n  temperature: \"0.2\"\n"));
        Assert.Contains(problems, p => p.Path == "/sampling/temperature");
    }

    [Theory]
    [InlineData("{\"id\": ", "invalid_json")]
    [InlineData("id: [unclosed\n", "invalid_yaml")]
    [InlineData("- a\n- b\n", "invalid_app")]
    [InlineData("   ", "invalid_app")]
    [InlineData("id: a\nid: b\n", "invalid_yaml")]
    public void Unreadable_documents_are_refused_with_a_clear_code(string text, string code)
    {
        var e = Assert.Throws<SovereignException>(() => AppDocument.Parse(text));
        Assert.Equal(code, e.Code);
    }

    [Fact]
    public void The_system_prompt_holds_the_instructions_declined_topics_and_languages()
    {
        var app = AppDocument.Load(Yaml) with
        {
            Translations = new Dictionary<string, AppTranslation> { ["fa"] = new() { Instructions = "از سیاست‌ها پاسخ بده." } },
        };
        var en = AppPrompt.SystemPrompt(app);
        Assert.StartsWith("Answer from the policies.\nCite them.", en, StringComparison.Ordinal);
        Assert.Contains("- salaries of named people", en, StringComparison.Ordinal);
        Assert.Contains("(en, fa)", en, StringComparison.Ordinal);
        Assert.StartsWith("از سیاست‌ها پاسخ بده.", AppPrompt.SystemPrompt(app, "fa"), StringComparison.Ordinal);
    }
}
