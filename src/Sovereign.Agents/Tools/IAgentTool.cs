using System.Text.Json;

namespace Sovereign.Agents.Tools;

/// <summary>
/// A tool an agent's model may call: built in (calculator, date and time, HTTP, knowledge search) or from an MCP server.
/// The model sees only <see cref="Name"/>, <see cref="Description"/> and <see cref="ParametersSchema"/>; all of them
/// look alike to it wherever the tool comes from. Implementations are thread-safe: runs share them.
/// </summary>
public interface IAgentTool
{
    /// <summary>Unique within one agent's tool set; letters, digits, '_' and '-' (what every tool-call format accepts).</summary>
    string Name { get; }

    string Description { get; }

    /// <summary>A JSON Schema object describing the arguments, used both in the prompt and for the argument grammar.</summary>
    JsonElement ParametersSchema { get; }

    /// <summary>
    /// Runs the tool. Bad arguments and refusals come back as an error <see cref="ToolResult"/> (the model may correct
    /// itself); only cancellation escapes as an exception.
    /// </summary>
    Task<ToolResult> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken);
}

/// <summary>A tool whose arguments have a grammar tighter than its JSON Schema can say (the calculator's arithmetic).</summary>
public interface IGrammarTool
{
    /// <summary>A complete GBNF grammar whose start rule <c>root</c> matches one arguments object; forced calls follow it.</summary>
    string ArgumentsGrammar { get; }
}

/// <summary>What a tool returned: text for the model, and whether it is an error message.</summary>
public sealed record ToolResult(string Content, bool IsError = false)
{
    public static ToolResult Error(string message) => new(message, IsError: true);
}

/// <summary>Arguments a tool cannot use; the message names the argument so the model can correct the call.</summary>
public sealed class ToolArgumentException(string message) : Exception(message);

/// <summary>Reading a tool's JSON arguments with messages that name the argument.</summary>
public static class ToolArguments
{
    public static string RequiredString(JsonElement arguments, string name) =>
        OptionalString(arguments, name) ?? throw new ToolArgumentException($"The argument '{name}' is required.");

    public static string? OptionalString(JsonElement arguments, string name)
    {
        if (arguments.ValueKind != JsonValueKind.Object) throw new ToolArgumentException("The arguments must be a JSON object.");
        if (!arguments.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new ToolArgumentException($"The argument '{name}' must be a string.");
    }

    public static long? OptionalInteger(JsonElement arguments, string name)
    {
        if (arguments.ValueKind != JsonValueKind.Object) throw new ToolArgumentException("The arguments must be a JSON object.");
        if (!arguments.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : throw new ToolArgumentException($"The argument '{name}' must be a whole number.");
    }

    public static JsonElement Schema(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
