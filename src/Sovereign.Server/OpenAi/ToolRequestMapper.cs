using System.Text.Json;
using Sovereign.Agents.ToolCalling;

namespace Sovereign.Server.OpenAi;

/// <summary>Maps OpenAI's tools, tool_choice and tool_calls fields; problems are added, never thrown. Stateless; thread-safe.</summary>
internal static class ToolRequestMapper
{
    /// <summary><c>[{"type":"function","function":{"name","description","parameters"}}]</c>; empty when absent.</summary>
    public static List<ToolDefinition> Tools(JsonElement? tools, RequestProblems problems)
    {
        var result = new List<ToolDefinition>();
        if (tools is not { } array || array.ValueKind == JsonValueKind.Null) return result;
        if (array.ValueKind != JsonValueKind.Array)
        {
            problems.Add("tools", "Invalid type for 'tools': expected an array of tools.", "invalid_type");
            return result;
        }
        var i = 0;
        foreach (var tool in array.EnumerateArray())
        {
            var param = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function")
            {
                problems.Add($"{param}.type", $"Invalid '{param}': expected an object with \"type\": \"function\".", "invalid_value");
                continue;
            }
            if (!tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                problems.Missing($"{param}.function");
                continue;
            }
            if (!function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString()!.Length == 0)
            {
                problems.Missing($"{param}.function.name");
                continue;
            }
            string? description = function.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            JsonElement? parameters = null;
            if (function.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                if (p.ValueKind != JsonValueKind.Object)
                {
                    problems.Add($"{param}.function.parameters", $"Invalid type for '{param}.function.parameters': expected a JSON Schema object.", "invalid_type");
                    continue;
                }
                parameters = p.Clone();
            }
            result.Add(new ToolDefinition(name.GetString()!, description, parameters));
        }
        return result;
    }

    /// <summary>"auto" (the default with tools), "none" (the default without), "required", or {"type":"function","function":{"name"}}.</summary>
    public static ToolChoice Choice(JsonElement? choice, bool hasTools, RequestProblems problems)
    {
        if (choice is not { } element || element.ValueKind == JsonValueKind.Null)
            return hasTools ? ToolChoice.Auto : ToolChoice.None;
        if (element.ValueKind == JsonValueKind.String)
        {
            switch (element.GetString())
            {
                case "auto": return ToolChoice.Auto;
                case "none": return ToolChoice.None;
                case "required": return ToolChoice.Required;
            }
        }
        else if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
            && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String)
        {
            return ToolChoice.Function(n.GetString()!);
        }
        problems.Add("tool_choice", "Invalid 'tool_choice': expected 'auto', 'none', 'required' or {\"type\": \"function\", \"function\": {\"name\": …}}.", "invalid_value");
        return ToolChoice.None;
    }

    /// <summary>An assistant message's tool_calls; null when absent.</summary>
    public static List<ToolCall>? Calls(JsonElement? calls, string param, RequestProblems problems)
    {
        if (calls is not { } array || array.ValueKind == JsonValueKind.Null) return null;
        if (array.ValueKind != JsonValueKind.Array)
        {
            problems.Add(param, $"Invalid type for '{param}': expected an array.", "invalid_type");
            return null;
        }
        var result = new List<ToolCall>();
        var i = 0;
        foreach (var call in array.EnumerateArray())
        {
            var at = $"{param}[{i++}]";
            if (call.ValueKind != JsonValueKind.Object
                || !call.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String
                || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            {
                problems.Add(at, $"Invalid '{at}': expected {{\"id\", \"type\": \"function\", \"function\": {{\"name\", \"arguments\"}}}}.", "invalid_value");
                continue;
            }
            var arguments = function.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "{}";
            result.Add(new ToolCall(id.GetString()!, name.GetString()!, arguments));
        }
        return result;
    }
}
