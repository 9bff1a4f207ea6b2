using Sovereign.Apps.Definitions;
using Sovereign.Core.Errors;

namespace Sovereign.Apps.Templates;

/// <summary>
/// The industry templates shipped with the platform: complete app definitions (YAML files embedded in this assembly,
/// one per industry, English with a Persian translation). A new app starts as a copy of one, with its own id and
/// usually its own model and knowledge bases. Thread-safe: loaded once, immutable.
/// </summary>
public static class AppTemplates
{
    private const string Prefix = "Sovereign.Apps.Templates.";

    private static readonly Lazy<IReadOnlyList<AppDefinition>> Loaded = new(Load);

    /// <summary>Every template, by id.</summary>
    public static IReadOnlyList<AppDefinition> All => Loaded.Value;

    public static AppDefinition? Find(string id) => All.FirstOrDefault(t => t.Id == id);

    /// <summary>
    /// A new app definition from template <paramref name="templateId"/>, with the given id, model and knowledge bases
    /// replacing the template's where set. 404 for an unknown template; the result is checked against the schema.
    /// </summary>
    public static AppDefinition Instantiate(string templateId, string? id = null, string? model = null, IReadOnlyList<string>? knowledgeBases = null)
    {
        var template = Find(templateId) ?? throw SovereignException.NotFound(
            $"No app template '{templateId}'. Templates: {string.Join(", ", All.Select(t => t.Id))}.", "from_template", "app_template_not_found");
        var app = template with
        {
            Id = id ?? template.Id,
            Model = model ?? template.Model,
            Knowledge = knowledgeBases is null ? template.Knowledge
                : knowledgeBases.Count == 0 ? null
                : (template.Knowledge ?? new AppKnowledge()) with { Bases = knowledgeBases },
        };
        // Overrides come from users: the result must follow the schema like any other document.
        return AppDocument.Load(AppDocument.Parse(app.ToJson()));
    }

    /// <summary>The template's YAML as shipped (comments included), for people to read and copy.</summary>
    public static string? Source(string id) =>
        Find(id) is null ? null : AppDocument.ReadResource(Prefix + id + ".yaml");

    private static IReadOnlyList<AppDefinition> Load()
    {
        var assembly = typeof(AppTemplates).Assembly;
        var templates = new List<AppDefinition>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".yaml", StringComparison.Ordinal)))
        {
            var app = AppDocument.Load(AppDocument.ReadResource(name));
            var expected = name[Prefix.Length..^".yaml".Length];
            if (app.Id != expected) throw new InvalidOperationException($"Template {name} has id '{app.Id}'; a template's id must match its file name.");
            templates.Add(app);
        }
        return [.. templates.OrderBy(t => t.Id, StringComparer.Ordinal)];
    }
}
