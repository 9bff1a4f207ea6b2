using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Sovereign.Core.Errors;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sovereign.Apps.Definitions;

/// <summary>One problem with an app document: where (a JSON pointer such as <c>/sampling/temperature</c>) and what.</summary>
public sealed record AppProblem(string Path, string Message)
{
    public override string ToString() => Path.Length == 0 ? Message : $"{Path}: {Message}";
}

/// <summary>
/// Reads app documents (JSON or YAML) and checks them against the published schema, reporting every problem at
/// once. Thread-safe: the schema is parsed once and only read.
/// </summary>
public static class AppDocument
{
    /// <summary>The JSON Schema every app definition follows (served at <c>GET /v1/apps/schema</c>).</summary>
    public static string SchemaText { get; } = ReadResource("Sovereign.Apps.app.schema.json");

    private static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromText(ReadResource("Sovereign.Apps.app.schema.json")));

    /// <summary>
    /// Parses <paramref name="text"/> as JSON when it starts with '{', as YAML otherwise. Throws 400 saying where a
    /// syntax error is.
    /// </summary>
    public static JsonObject Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        if (trimmed.Length == 0) throw SovereignException.Invalid("The app document is empty.", code: "invalid_app");
        JsonNode? node;
        if (trimmed[0] == '{')
        {
            try
            {
                node = JsonNode.Parse(trimmed);
            }
            catch (JsonException e)
            {
                throw SovereignException.Invalid($"The app document is not valid JSON (line {e.LineNumber + 1}, position {e.BytePositionInLine + 1}): {e.Message.Split(" Path:", 2)[0]}", code: "invalid_json");
            }
        }
        else
        {
            node = ParseYaml(trimmed);
        }
        return node as JsonObject ?? throw SovereignException.Invalid("The app document must be an object (a mapping of fields), not a list or a single value.", code: "invalid_app");
    }

    /// <summary>Every way <paramref name="document"/> breaks the schema; empty when it is valid.</summary>
    public static IReadOnlyList<AppProblem> Validate(JsonNode document)
    {
        ArgumentNullException.ThrowIfNull(document);
        using var json = JsonDocument.Parse(document.ToJsonString());
        var result = Schema.Value.Evaluate(json.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid) return [];
        var problems = new List<AppProblem>();
        foreach (var detail in result.Details ?? [])
        {
            if (detail.Errors is null) continue;
            foreach (var (keyword, message) in detail.Errors)
            {
                var path = detail.InstanceLocation.ToString();
                problems.Add(new AppProblem(path, Describe(keyword, message, detail.InstanceLocation.ToString())));
            }
        }
        if (problems.Count == 0 && result.Errors is { } rootErrors)
            problems.AddRange(rootErrors.Select(e => new AppProblem("", e.Value)));
        return [.. problems.Distinct()];
    }

    /// <summary>Parses, validates and converts; throws one 400 listing every problem.</summary>
    public static AppDefinition Load(string text) => Load(Parse(text));

    /// <inheritdoc cref="Load(string)"/>
    public static AppDefinition Load(JsonObject document)
    {
        var problems = Validate(document);
        if (problems.Count > 0) throw Invalid(problems);
        return AppDefinition.FromJson(document.ToJsonString());
    }

    public static SovereignException Invalid(IReadOnlyList<AppProblem> problems) =>
        SovereignException.Invalid(
            $"The app definition does not follow the schema (GET /v1/apps/schema): {string.Join("; ", problems)}.",
            problems[0].Path.TrimStart('/').Replace('/', '.'), "invalid_app");

    // The validator's words, made specific where they would otherwise say only "does not match a pattern".
    private static string Describe(string keyword, string message, string path)
    {
        if (keyword is "additionalProperties" or "false" || message.Contains("false schema", StringComparison.Ordinal))
            return $"unknown field '{path.Split('/').Last()}'";
        if (keyword != "pattern") return message.TrimEnd('.');
        var field = path.Split('/', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return field switch
        {
            "id" => "must be 2 to 63 lower-case letters, digits or '-', starting with a letter or digit",
            "model" => "must be a model name, name[:tag]",
            "tools" => "must be a built-in tool name (calculator, date_time, http_request, knowledge_search) or mcp:<server>[/<tool>]",
            "languages" or "translations" => "must be a language code such as en, fa or ar",
            _ => message.TrimEnd('.'),
        };
    }

    // YAML 1.2's core schema: plain scalars may be null, booleans or numbers; quoted ones are always strings.
    private static JsonNode? ParseYaml(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw SovereignException.Invalid($"The app document is not valid YAML (line {e.Start.Line}, column {e.Start.Column}): {e.Message}", code: "invalid_yaml");
        }
        if (stream.Documents.Count != 1)
            throw SovereignException.Invalid($"The app document must hold exactly one YAML document, found {stream.Documents.Count}.", code: "invalid_yaml");
        return ToJson(stream.Documents[0].RootNode);
    }

    private static JsonNode? ToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    var name = (key as YamlScalarNode)?.Value
                        ?? throw SovereignException.Invalid($"Only text keys are allowed in an app document (line {key.Start.Line}).", code: "invalid_yaml");
                    if (obj.ContainsKey(name))
                        throw SovereignException.Invalid($"The field '{name}' appears twice (line {key.Start.Line}).", code: "invalid_yaml");
                    obj[name] = ToJson(value);
                }
                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                foreach (var item in sequence.Children) array.Add(ToJson(item));
                return array;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw SovereignException.Invalid($"Unsupported YAML node at line {node.Start.Line} (aliases are not allowed in app documents).", code: "invalid_yaml");
        }
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain) return JsonValue.Create(value);
        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)) return JsonValue.Create(integer);
        if (double.TryParse(value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var number)
            && double.IsFinite(number))
            return JsonValue.Create(number);
        return JsonValue.Create(value);
    }

    internal static string ReadResource(string name)
    {
        using var stream = typeof(AppDocument).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing from Sovereign.Apps.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
