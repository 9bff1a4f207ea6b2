using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sovereign.Web.Apps;

/// <summary>
/// An app's draft as the editor's form shows it, field by field. It is read from the draft's JSON and written back
/// over that same JSON, so what the form has no field for (a translated name, knowledge.top_k, min_p…) is kept as it
/// was. It checks nothing itself: a number that does not read as one goes to the server as text, and the server's
/// schema says what is wrong, as it does for the JSON/YAML editor. Edited in place by one page; not thread-safe.
/// </summary>
public sealed class AppForm
{
    /// <summary>The sampling defaults the form offers, as the schema names them; the whole ones are written as integers.</summary>
    public static readonly IReadOnlyList<string> SamplingFields = ["temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "seed"];

    private static readonly HashSet<string> WholeNumbers = ["top_k", "max_tokens", "seed"];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public string Name { get; set; } = "";
    public string Description { get; set; } = "";

    /// <summary>Language codes as typed, separated by commas or spaces; the first is the app's primary language.</summary>
    public string Languages { get; set; } = "";
    public string Model { get; set; } = "";

    /// <summary>Instructions by language code: the primary language's are the app's own, the others' its translations'.</summary>
    public Dictionary<string, string> Instructions { get; } = new(StringComparer.Ordinal);
    public List<string> KnowledgeBases { get; } = [];
    public List<string> Tools { get; } = [];

    /// <summary>Sampling defaults by schema name (<see cref="SamplingFields"/>), as typed; empty means unset.</summary>
    public Dictionary<string, string> Sampling { get; } = new(StringComparer.Ordinal);

    /// <summary>One question a line.</summary>
    public string StarterQuestions { get; set; } = "";

    /// <summary>One topic a line.</summary>
    public string DeclinedTopics { get; set; } = "";
    public string DeclineMessage { get; set; } = "";
    public bool MaskPersonalData { get; set; } = true;

    public IReadOnlyList<string> LanguageCodes =>
        [.. Languages.Split([',', ' ', '،', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal)];

    public string PrimaryLanguage => LanguageCodes.FirstOrDefault() ?? "en";

    /// <summary>The form of a draft given as JSON; throws <see cref="JsonException"/> when it is not a JSON object (YAML, or broken).</summary>
    public static AppForm Read(string json)
    {
        var doc = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("The draft is not a JSON object.");
        var form = new AppForm
        {
            Name = Text(doc["name"]),
            Description = Text(doc["description"]),
            Model = Text(doc["model"]),
            Languages = doc["languages"] is JsonArray langs ? string.Join(", ", langs.Select(Text)) : "en",
        };
        form.Instructions[form.PrimaryLanguage] = Text(doc["instructions"]);
        if (doc["translations"] is JsonObject translations)
        {
            foreach (var (language, translation) in translations)
            {
                if (language != form.PrimaryLanguage && translation?["instructions"] is { } text) form.Instructions[language] = Text(text);
            }
        }
        if (doc["knowledge"]?["bases"] is JsonArray bases) form.KnowledgeBases.AddRange(bases.Select(Text));
        if (doc["tools"] is JsonArray tools) form.Tools.AddRange(tools.Select(Text));
        if (doc["sampling"] is JsonObject sampling)
        {
            foreach (var field in SamplingFields)
            {
                if (sampling[field] is { } value) form.Sampling[field] = Text(value);
            }
        }
        if (doc["starter_questions"] is JsonArray questions) form.StarterQuestions = string.Join('\n', questions.Select(Text));
        if (doc["guardrails"] is JsonObject guardrails)
        {
            if (guardrails["declined_topics"] is JsonArray topics) form.DeclinedTopics = string.Join('\n', topics.Select(Text));
            form.DeclineMessage = Text(guardrails["decline_message"]);
            form.MaskPersonalData = guardrails["mask_personal_data"] is not JsonValue mask || !mask.TryGetValue<bool>(out var m) || m;
        }
        return form;
    }

    /// <summary>The draft <paramref name="json"/> with this form's fields written over it, as indented JSON.</summary>
    public string Write(string json)
    {
        var doc = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("The draft is not a JSON object.");
        doc["name"] = Name.Trim();
        Set(doc, "description", Description.Trim().Length == 0 ? null : JsonValue.Create(Description.Trim()));
        var languages = LanguageCodes;
        Set(doc, "languages", languages.Count == 0 ? null : Array(languages));
        doc["model"] = Model.Trim();
        doc["instructions"] = Instructions.GetValueOrDefault(PrimaryLanguage, "").Trim();

        var translations = doc["translations"] as JsonObject ?? [];
        foreach (var language in languages.Skip(1))
        {
            var text = Instructions.GetValueOrDefault(language, "").Trim();
            var translation = translations[language] as JsonObject;
            if (text.Length > 0)
            {
                translation ??= [];
                translation["instructions"] = text;
                translations[language] = translation;
            }
            else if (translation is not null)
            {
                translation.Remove("instructions");
                if (translation.Count == 0) translations.Remove(language);
            }
        }
        Set(doc, "translations", translations.Count == 0 ? null : translations.DeepClone());

        if (KnowledgeBases.Count == 0) doc.Remove("knowledge");
        else
        {
            var knowledge = doc["knowledge"] as JsonObject ?? [];
            knowledge["bases"] = Array(KnowledgeBases);
            doc["knowledge"] = knowledge.DeepClone();
        }
        Set(doc, "tools", Tools.Count == 0 ? null : Array(Tools));

        var sampling = doc["sampling"] as JsonObject ?? [];
        foreach (var field in SamplingFields)
        {
            var text = Sampling.GetValueOrDefault(field, "").Trim();
            if (text.Length == 0) sampling.Remove(field);
            else sampling[field] = Number(field, text);
        }
        Set(doc, "sampling", sampling.Count == 0 ? null : sampling.DeepClone());

        var questions = Lines(StarterQuestions);
        Set(doc, "starter_questions", questions.Count == 0 ? null : Array(questions));

        var guardrails = doc["guardrails"] as JsonObject ?? [];
        var topics = Lines(DeclinedTopics);
        Set(guardrails, "declined_topics", topics.Count == 0 ? null : Array(topics));
        Set(guardrails, "decline_message", DeclineMessage.Trim().Length == 0 ? null : JsonValue.Create(DeclineMessage.Trim()));
        guardrails["mask_personal_data"] = MaskPersonalData;
        // Masking is on unless said otherwise: a draft with no guardrails and the default stays without them.
        var defaults = guardrails.Count == 1 && MaskPersonalData && doc["guardrails"] is null;
        Set(doc, "guardrails", defaults ? null : guardrails.DeepClone());
        return doc.ToJsonString(Indented);
    }

    /// <summary>Whether two drafts say the same (whitespace and key order aside for objects written the same way).</summary>
    public static bool Same(string a, string b)
    {
        try
        {
            return JsonNode.DeepEquals(JsonNode.Parse(a), JsonNode.Parse(b));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    private static JsonArray Array(IEnumerable<string> items) => [.. items.Select(i => (JsonNode?)JsonValue.Create(i))];

    private static List<string> Lines(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static void Set(JsonObject target, string name, JsonNode? value)
    {
        if (value is null) target.Remove(name);
        else target[name] = value;
    }

    private static JsonNode Number(string field, string text)
    {
        if (WholeNumbers.Contains(field) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var whole)) return JsonValue.Create(whole);
        if (!WholeNumbers.Contains(field) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real)) return JsonValue.Create(real);
        // Not a number (or not a whole one): sent as typed, so the server's schema names the problem at this field.
        return JsonValue.Create(text);
    }
}
