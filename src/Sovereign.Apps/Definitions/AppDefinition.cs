using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sovereign.Apps.Definitions;

/// <summary>
/// An application: an assistant defined as data (JSON or YAML, checked against <c>app.schema.json</c>, served at
/// <c>GET /v1/apps/schema</c>). Published versions are immutable; a draft is edited freely. Immutable record.
/// </summary>
public sealed record AppDefinition
{
    /// <summary>Lower-case letters, digits and '-' (used in <c>model: "app:&lt;id&gt;"</c>).</summary>
    public required string Id { get; init; }
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    /// <summary>Language codes the app serves (BCP 47: en, fa, ar); the first is its primary language.</summary>
    public IReadOnlyList<string> Languages { get; init; } = ["en"];
    /// <summary>The model from the model store (name[:tag]) the app answers with.</summary>
    public required string Model { get; init; }
    /// <summary>The system prompt: who the assistant is, what it does and does not do.</summary>
    public required string Instructions { get; init; }
    public AppKnowledge? Knowledge { get; init; }
    /// <summary>
    /// Tools the app may call: built-in ones by name (calculator, date_time, http_request, knowledge_search) and MCP
    /// tools as <c>mcp:&lt;server&gt;</c> or <c>mcp:&lt;server&gt;/&lt;tool&gt;</c>.
    /// </summary>
    public IReadOnlyList<string> Tools { get; init; } = [];
    public AppSampling? Sampling { get; init; }
    public IReadOnlyList<string> StarterQuestions { get; init; } = [];
    public AppGuardrails? Guardrails { get; init; }
    /// <summary>The user-facing texts in the app's other languages, keyed by language code.</summary>
    public IReadOnlyDictionary<string, AppTranslation>? Translations { get; init; }

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static AppDefinition FromJson(string json) =>
        JsonSerializer.Deserialize<AppDefinition>(json, Json) ?? throw new JsonException("An app definition cannot be null.");

    /// <summary>The texts for <paramref name="language"/>: its translation where there is one, the primary texts otherwise.</summary>
    public AppTranslation TextsFor(string? language)
    {
        var primary = new AppTranslation
        {
            Name = Name,
            Description = Description,
            Instructions = Instructions,
            StarterQuestions = StarterQuestions,
            DeclineMessage = Guardrails?.DeclineMessage,
        };
        if (language is null || Translations is null || !Translations.TryGetValue(language, out var t)) return primary;
        return new AppTranslation
        {
            Name = t.Name ?? primary.Name,
            Description = t.Description ?? primary.Description,
            Instructions = t.Instructions ?? primary.Instructions,
            StarterQuestions = t.StarterQuestions is { Count: > 0 } q ? q : primary.StarterQuestions,
            DeclineMessage = t.DeclineMessage ?? primary.DeclineMessage,
        };
    }
}

/// <param name="Bases">Knowledge base ids or names searched for every question.</param>
/// <param name="TopK">Passages retrieved per question.</param>
public sealed record AppKnowledge
{
    public IReadOnlyList<string> Bases { get; init; } = [];
    public int TopK { get; init; } = 5;
}

/// <summary>Defaults for requests that do not set them; a request's own values win.</summary>
public sealed record AppSampling
{
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? TopK { get; init; }
    public float? MinP { get; init; }
    public float? RepeatPenalty { get; init; }
    public int? MaxTokens { get; init; }
    public long? Seed { get; init; }
}

public sealed record AppGuardrails
{
    /// <summary>Topics the assistant declines (told to it in its instructions).</summary>
    public IReadOnlyList<string> DeclinedTopics { get; init; } = [];
    /// <summary>What it says when it declines.</summary>
    public string? DeclineMessage { get; init; }
    /// <summary>Mask e-mail addresses, phone numbers, national ids and card numbers in inputs before they reach logs.</summary>
    public bool MaskPersonalData { get; init; } = true;
}

/// <summary>One language's user-facing texts; a missing field falls back to the primary language's.</summary>
public sealed record AppTranslation
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public string? Instructions { get; init; }
    public IReadOnlyList<string>? StarterQuestions { get; init; }
    public string? DeclineMessage { get; init; }
}
