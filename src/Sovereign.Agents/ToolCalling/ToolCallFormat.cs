using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sovereign.Agents.Prompting;
using Sovereign.Core.Generation;
using Sovereign.Inference.Grammars;

namespace Sovereign.Agents.ToolCalling;

/// <summary>
/// How one family of models writes tool calls and expects to see tools, calls and results in its prompt. Chosen from
/// the model's chat template (<see cref="ToolCallFormats.ForTemplate"/>). Stateless; thread-safe.
/// </summary>
public abstract class ToolCallFormat
{
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>hermes, llama3 or mistral.</summary>
    public abstract string Family { get; }

    /// <summary>The text that opens a call in free output; streaming holds text back while it could be the start of one.</summary>
    public abstract string CallMarker { get; }

    /// <summary>Whether the call markup is made of control tokens, so an assistant turn rendered with calls keeps special parsing.</summary>
    public virtual bool MarkupIsSpecial => false;

    /// <summary>The system-prompt text that describes the tools to the model.</summary>
    public abstract string RenderTools(IReadOnlyList<ToolDefinition> tools, bool forced);

    /// <summary>An assistant turn that made calls, in the family's markup.</summary>
    public abstract string RenderCalls(string? content, IReadOnlyList<ToolCall> calls);

    /// <summary>
    /// A tool's result as a chat message. The text is framed as data (<see cref="DataFraming"/>: an envelope naming the
    /// tool and the call, control sequences defused) and is never parsed for special tokens, so a result cannot open a
    /// turn, add tools or pose as instructions.
    /// </summary>
    /// <param name="isError">The content is the tool's (or the platform's) error message, not its output.</param>
    public abstract ChatMessage RenderResult(string toolName, string callId, string content, bool isError = false);

    /// <summary>Finds the calls in the model's output; text that is not a well-formed call to a known tool stays text.</summary>
    public abstract ToolCallOutput Parse(string output, IReadOnlyList<ToolDefinition> tools);

    /// <summary>The GBNF body of <c>root</c> that forces calls: <paramref name="call"/> is one call's alternatives (rule names per tool, as given).</summary>
    protected abstract string ForcedRoot(IReadOnlyList<(string Name, string ArgsRule)> tools, bool parallel);

    /// <summary>A grammar that admits only well-formed calls to <paramref name="tools"/> with schema-valid arguments.</summary>
    /// <exception cref="Sovereign.Core.Errors.SovereignException">400 when a tool's parameters schema cannot be enforced.</exception>
    /// <remarks>
    /// A tool with its own <see cref="ToolDefinition.ArgumentsGrammar"/> brings that grammar, embedded under a rule name
    /// of its own (<c>g{i}-args</c>, which no compiled rule uses); every other tool's schema is compiled.
    /// </remarks>
    public string ForcedGrammar(IReadOnlyList<ToolDefinition> tools, IReadOnlyList<int> indexes, bool parallel)
    {
        var schemas = new List<(JsonElement, string)>();
        var own = new StringBuilder();
        foreach (var i in indexes)
        {
            if (tools[i].ArgumentsGrammar is { } grammar)
                own.Append(GbnfRules.Embed(grammar, OwnRule(i)).TrimEnd('\n')).Append('\n');
            else
                schemas.Add((tools[i].Parameters ?? AnyObjectSchema, $"tools[{i}].function.parameters"));
        }
        var compiled = JsonSchemaGrammar.CompileMany(schemas, names =>
        {
            var next = 0;
            return ForcedRoot([.. indexes.Select(t => (tools[t].Name, tools[t].ArgumentsGrammar is null ? names[next++] : OwnRule(t)))], parallel);
        });
        return compiled + own;
    }

    private static string OwnRule(int index) => "g" + index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-args";

    private static readonly JsonElement AnyObjectSchema = JsonDocument.Parse("""{"type":"object"}""").RootElement.Clone();

    /// <summary>An OpenAI-style call id: call_ and 24 random base62 characters.</summary>
    public static string NewCallId() => "call_" + RandomNumberGenerator.GetString("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 24);

    protected static string Json(object value) => JsonSerializer.Serialize(value, Compact);

    protected static string ToolsJson(ToolDefinition tool)
    {
        var function = new JsonObject { ["name"] = tool.Name };
        if (tool.Description is not null) function["description"] = tool.Description;
        function["parameters"] = tool.Parameters is { } p ? JsonNode.Parse(p.GetRawText()) : new JsonObject { ["type"] = "object" };
        return new JsonObject { ["type"] = "function", ["function"] = function }.ToJsonString(Compact);
    }

    protected static string Lit(string text) => JsonSchemaGrammar.GbnfLiteral(text);

    /// <summary>Parses one call object ({"name", "arguments"|"parameters"}); null when it is not a call to a known tool.</summary>
    protected static ToolCall? ParseCall(JsonNode? node, IReadOnlyList<ToolDefinition> tools)
    {
        if (node is not JsonObject call || call["name"] is not JsonValue nameValue || !nameValue.TryGetValue<string>(out var name))
            return null;
        if (!tools.Any(t => t.Name == name))
            return null;
        var args = call["arguments"] ?? call["parameters"];
        var text = args switch
        {
            null => "{}",
            JsonValue v when v.TryGetValue<string>(out var s) => s, // some models write arguments as a JSON string
            _ => args.ToJsonString(Compact),
        };
        return new ToolCall(NewCallId(), name, text);
    }

    protected static JsonNode? TryParse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    protected static string DataFrame(string toolName, string callId, string content, bool isError) =>
        DataFraming.Frame($"tool {toolName} (call {callId})", content, isError);
}
