using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sovereign.Core.Generation;

namespace Sovereign.Agents.ToolCalling;

/// <summary>The tool-call formats of the common model families, and the choice among them. Thread-safe.</summary>
public static partial class ToolCallFormats
{
    public static ToolCallFormat Hermes { get; } = new HermesFormat();
    public static ToolCallFormat Llama3 { get; } = new Llama3Format();
    public static ToolCallFormat Mistral { get; } = new MistralFormat();

    /// <summary>
    /// The format for a model, from its chat template: a built-in template name (chatml → Hermes/Qwen, llama3,
    /// mistral) or the text of the model's own template (what it mentions: <c>&lt;tool_call&gt;</c>,
    /// <c>&lt;|start_header_id|&gt;</c>, <c>[TOOL_CALLS]</c>/<c>[INST]</c>). Hermes when nothing tells, since its
    /// tagged JSON reads plainly in any template.
    /// </summary>
    public static ToolCallFormat ForTemplate(string? templateName, string? templateText = null)
    {
        var name = templateName?.Trim().ToLowerInvariant() ?? "";
        if (name.StartsWith("llama3", StringComparison.Ordinal)) return Llama3;
        if (name.StartsWith("mistral", StringComparison.Ordinal)) return Mistral;
        if (name.Length > 0) return Hermes;
        var text = templateText ?? "";
        if (text.Contains("<tool_call>", StringComparison.Ordinal)) return Hermes;
        if (text.Contains("<|start_header_id|>", StringComparison.Ordinal)) return Llama3;
        if (text.Contains("[TOOL_CALLS]", StringComparison.Ordinal) || text.Contains("[INST]", StringComparison.Ordinal)) return Mistral;
        return Hermes;
    }

    /// <summary>Hermes / Qwen 2.5+: <c>&lt;tool_call&gt;{"name":…,"arguments":…}&lt;/tool_call&gt;</c>.</summary>
    private sealed partial class HermesFormat : ToolCallFormat
    {
        public override string Family => "hermes";
        public override string CallMarker => "<tool_call>";

        public override string RenderTools(IReadOnlyList<ToolDefinition> tools, bool forced)
        {
            var text = new StringBuilder("# Tools\n\nYou may call one or more functions to assist with the user query.\n\n");
            text.Append("You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n");
            foreach (var tool in tools) text.Append(ToolsJson(tool)).Append('\n');
            text.Append("</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n");
            text.Append("<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>");
            return text.ToString();
        }

        public override string RenderCalls(string? content, IReadOnlyList<ToolCall> calls)
        {
            var text = new StringBuilder(content ?? "");
            foreach (var call in calls)
            {
                if (text.Length > 0) text.Append('\n');
                text.Append("<tool_call>\n").Append(Json(new { name = call.Name, arguments = TryParse(call.Arguments) ?? call.Arguments })).Append("\n</tool_call>");
            }
            return text.ToString();
        }

        // As Qwen's own template does: results go back in a user turn, inside <tool_response> tags.
        public override ChatMessage RenderResult(string toolName, string callId, string content, bool isError = false) =>
            new("user", "<tool_response>\n" + DataFrame(toolName, callId, content, isError) + "\n</tool_response>");

        public override ToolCallOutput Parse(string output, IReadOnlyList<ToolDefinition> tools)
        {
            var calls = new List<ToolCall>();
            var rest = CallPattern().Replace(output, m =>
            {
                var call = ParseCall(TryParse(m.Groups[1].Value), tools);
                if (call is null) return m.Value;
                calls.Add(call);
                return "";
            });
            var content = rest.Trim();
            return new ToolCallOutput(content.Length == 0 ? null : calls.Count > 0 ? content : output, calls);
        }

        protected override string ForcedRoot(IReadOnlyList<(string Name, string ArgsRule)> tools, bool parallel)
        {
            var call = string.Join(" | ", tools.Select(t => $"{Lit("{\"name\":" + Json(t.Name) + ",\"arguments\":")} {t.ArgsRule} \"}}\""));
            var block = $"\"<tool_call>\\n\" ({call}) \"\\n</tool_call>\"";
            return parallel ? $"{block} (\"\\n\" {block}){{0,3}}" : block;
        }

        [GeneratedRegex(@"<tool_call>\s*(\{.*?\})\s*(?:</tool_call>|$)", RegexOptions.Singleline)]
        private static partial Regex CallPattern();
    }

    /// <summary>Llama 3.1+: the whole answer is one JSON object <c>{"name":…,"parameters":…}</c>.</summary>
    private sealed class Llama3Format : ToolCallFormat
    {
        public override string Family => "llama3";
        public override string CallMarker => "{";

        public override string RenderTools(IReadOnlyList<ToolDefinition> tools, bool forced)
        {
            var text = new StringBuilder("You have access to the following functions. To call a function, respond only with JSON in the format ");
            text.Append("{\"name\": function name, \"parameters\": dictionary of argument name and its value}. Do not use variables.\n\n");
            foreach (var tool in tools) text.Append(ToolsJson(tool)).Append("\n\n");
            return text.ToString().TrimEnd();
        }

        public override string RenderCalls(string? content, IReadOnlyList<ToolCall> calls) =>
            string.Join("\n", calls.Select(c => Json(new { name = c.Name, parameters = TryParse(c.Arguments) ?? c.Arguments })));

        // Llama 3.1 reads tool output in the ipython role.
        public override ChatMessage RenderResult(string toolName, string callId, string content, bool isError = false) =>
            new("ipython", DataFrame(toolName, callId, content, isError));

        public override ToolCallOutput Parse(string output, IReadOnlyList<ToolDefinition> tools)
        {
            var text = output.Trim();
            if (text.StartsWith("<|python_tag|>", StringComparison.Ordinal)) text = text["<|python_tag|>".Length..].Trim();
            var calls = new List<ToolCall>();
            foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (ParseCall(TryParse(part), tools) is not { } call) return new ToolCallOutput(output, []);
                calls.Add(call);
            }
            return calls.Count == 0 ? new ToolCallOutput(output, []) : new ToolCallOutput(null, calls);
        }

        protected override string ForcedRoot(IReadOnlyList<(string Name, string ArgsRule)> tools, bool parallel) =>
            string.Join(" | ", tools.Select(t => $"{Lit("{\"name\":" + Json(t.Name) + ",\"parameters\":")} {t.ArgsRule} \"}}\""));
    }

    /// <summary>Mistral (v3 tokenizer and later): <c>[TOOL_CALLS][{"name":…,"arguments":…}, …]</c>.</summary>
    private sealed class MistralFormat : ToolCallFormat
    {
        public override string Family => "mistral";
        public override string CallMarker => "[TOOL_CALLS]";
        public override bool MarkupIsSpecial => true;

        public override string RenderTools(IReadOnlyList<ToolDefinition> tools, bool forced) =>
            "[AVAILABLE_TOOLS][" + string.Join(",", tools.Select(ToolsJson)) + "][/AVAILABLE_TOOLS]";

        public override string RenderCalls(string? content, IReadOnlyList<ToolCall> calls) =>
            (content ?? "") + "[TOOL_CALLS][" + string.Join(",", calls.Select(c => Json(new { name = c.Name, arguments = TryParse(c.Arguments) ?? c.Arguments }))) + "]";

        public override ChatMessage RenderResult(string toolName, string callId, string content, bool isError = false) =>
            new("user", "[TOOL_RESULTS] " + DataFrame(toolName, callId, content, isError) + " [/TOOL_RESULTS]");

        public override ToolCallOutput Parse(string output, IReadOnlyList<ToolDefinition> tools)
        {
            var at = output.IndexOf(CallMarker, StringComparison.Ordinal);
            if (at < 0) return new ToolCallOutput(output, []);
            if (TryParse(output[(at + CallMarker.Length)..].Trim()) is not JsonArray array) return new ToolCallOutput(output, []);
            var calls = new List<ToolCall>();
            foreach (var item in array)
            {
                if (ParseCall(item, tools) is not { } call) return new ToolCallOutput(output, []);
                calls.Add(call);
            }
            var content = output[..at].Trim();
            return new ToolCallOutput(content.Length == 0 ? null : content, calls);
        }

        protected override string ForcedRoot(IReadOnlyList<(string Name, string ArgsRule)> tools, bool parallel)
        {
            var call = "(" + string.Join(" | ", tools.Select(t => $"{Lit("{\"name\":" + Json(t.Name) + ",\"arguments\":")} {t.ArgsRule} \"}}\"")) + ")";
            return $"\"[TOOL_CALLS][\" {call} " + (parallel ? $"(\",\" {call}){{0,3}} " : "") + "\"]\"";
        }
    }
}
