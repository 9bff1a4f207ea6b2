using System.Text.Json.Nodes;
using Sovereign.Apps.Definitions;
using Sovereign.Apps.Templates;

namespace Sovereign.Apps.Tests.Templates;

public sealed class TemplateTests
{
    public static readonly string[] Expected =
    [
        "agriculture-advisor", "clinical-guidelines", "contract-review", "customer-support", "finance-analyst",
        "industrial-maintenance", "public-service-desk", "teaching-assistant", "translation-localisation",
    ];

    private static readonly string[] BuiltInTools = ["calculator", "date_time", "http_request", "knowledge_search"];

    public static TheoryData<string> Ids => [.. Expected];

    [Fact]
    public void The_platform_ships_the_nine_industry_templates() =>
        Assert.Equal(Expected, AppTemplates.All.Select(t => t.Id));

    [Theory]
    [MemberData(nameof(Ids))]
    public void Every_template_as_shipped_validates_against_the_published_schema(string id)
    {
        var source = AppTemplates.Source(id)!;
        Assert.Empty(AppDocument.Validate(AppDocument.Parse(source)));
        // And the definition read back from it round-trips through JSON unchanged.
        var app = AppTemplates.Find(id)!;
        Assert.Empty(AppDocument.Validate(JsonNode.Parse(app.ToJson())!));
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Every_template_is_complete_in_english_and_persian(string id)
    {
        var app = AppTemplates.Find(id)!;
        Assert.Equal("en", app.Languages[0]);
        Assert.Contains("fa", app.Languages);
        Assert.True(app.Instructions.Length > 600, $"{id}: instructions are too thin to be useful");
        Assert.True(app.StarterQuestions.Count >= 3);
        Assert.NotNull(app.Knowledge);
        Assert.NotEmpty(app.Knowledge.Bases);
        Assert.NotNull(app.Sampling?.Temperature);
        Assert.NotNull(app.Guardrails);
        Assert.NotEmpty(app.Guardrails.DeclinedTopics);
        Assert.True(app.Guardrails.MaskPersonalData);
        Assert.All(app.Tools, t => Assert.Contains(t, BuiltInTools));

        var fa = app.Translations!["fa"];
        foreach (var text in new[] { fa.Name, fa.Description, fa.Instructions, fa.DeclineMessage })
        {
            Assert.False(string.IsNullOrWhiteSpace(text), $"{id}: Persian text missing");
            Assert.Contains(text!, c => c is >= '\u0600' and <= '\u06FF');
        }
        Assert.Equal(app.StarterQuestions.Count, fa.StarterQuestions!.Count);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Every_template_asks_for_sources_to_be_cited(string id) =>
        Assert.Contains("[1]", AppTemplates.Find(id)!.Instructions, StringComparison.Ordinal);

    [Fact]
    public void The_clinical_template_never_diagnoses_and_sends_people_to_a_clinician()
    {
        var app = AppTemplates.Find("clinical-guidelines")!;
        Assert.Contains("Never diagnose", app.Instructions, StringComparison.Ordinal);
        Assert.Contains("doctor, nurse or", app.Instructions, StringComparison.Ordinal);
        Assert.Contains("emergency", app.Instructions, StringComparison.Ordinal);
        Assert.Contains(app.Guardrails!.DeclinedTopics, t => t.Contains("diagnosing", StringComparison.Ordinal));
        Assert.DoesNotContain("calculator", app.Tools);
    }

    [Fact]
    public void The_translation_template_serves_persian_arabic_and_english()
    {
        var app = AppTemplates.Find("translation-localisation")!;
        Assert.Equal(["en", "fa", "ar"], app.Languages);
        Assert.NotNull(app.Translations!["ar"].Name);
        Assert.Equal(app.Instructions, app.TextsFor("ar").Instructions); // Arabic falls back to the primary instructions
    }

    [Fact]
    public void No_template_gathers_information_about_individual_people()
    {
        // Each template's declined topics or instructions rule out looking up or reporting on people where its domain invites it.
        string[] peopleFacing = ["contract-review", "public-service-desk", "teaching-assistant", "finance-analyst", "customer-support"];
        foreach (var id in peopleFacing)
        {
            var app = AppTemplates.Find(id)!;
            var text = (app.Instructions + " " + string.Join(" ", app.Guardrails!.DeclinedTopics)).ToLowerInvariant();
            Assert.True(text.Contains("individual", StringComparison.Ordinal) || text.Contains("other customers", StringComparison.Ordinal) || text.Contains("any person", StringComparison.Ordinal),
                $"{id} does not rule out gathering information about people");
        }
        Assert.All(AppTemplates.All, t => Assert.DoesNotContain("http_request", t.Tools));
    }

    [Fact]
    public void Instantiating_a_template_sets_the_id_model_and_knowledge_bases()
    {
        var app = AppTemplates.Instantiate("customer-support", "acme-support", "stories-chat", ["acme-help"]);
        Assert.Equal("acme-support", app.Id);
        Assert.Equal("stories-chat", app.Model);
        Assert.Equal(["acme-help"], app.Knowledge!.Bases);
        Assert.Equal(AppTemplates.Find("customer-support")!.Instructions, app.Instructions);

        var withoutKnowledge = AppTemplates.Instantiate("customer-support", "acme-2", knowledgeBases: []);
        Assert.Null(withoutKnowledge.Knowledge);
    }

    [Fact]
    public void Instantiating_with_a_bad_id_or_an_unknown_template_is_refused()
    {
        var bad = Assert.Throws<Core.Errors.SovereignException>(() => AppTemplates.Instantiate("customer-support", "Not An Id"));
        Assert.Equal(Core.Errors.ErrorKind.InvalidRequest, bad.Kind);
        Assert.Contains("/id", bad.Message, StringComparison.Ordinal);

        var unknown = Assert.Throws<Core.Errors.SovereignException>(() => AppTemplates.Instantiate("astrology"));
        Assert.Equal(Core.Errors.ErrorKind.NotFound, unknown.Kind);
        Assert.Contains("customer-support", unknown.Message, StringComparison.Ordinal);
    }
}
