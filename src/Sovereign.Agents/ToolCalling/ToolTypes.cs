using System.Text.Json;

namespace Sovereign.Agents.ToolCalling;

/// <summary>A function the model may call: its name, what it does, and the JSON Schema of its arguments. Immutable.</summary>
/// <param name="Name">The function's name (letters, digits, '_' and '-', at most 64).</param>
/// <param name="Description">What it does, for the model; may be null.</param>
/// <param name="Parameters">The JSON Schema of its arguments object; null means "any object".</param>
/// <param name="ArgumentsGrammar">
/// A complete GBNF grammar (start rule <c>root</c>) for one arguments object, used instead of compiling
/// <paramref name="Parameters"/> when a call is forced: a tool's own tighter grammar (the calculator's arithmetic), or any
/// object for an MCP tool whose schema the compiler cannot honour. Null: the schema is compiled, and one it cannot honour
/// is a 400.
/// </param>
public sealed record ToolDefinition(string Name, string? Description, JsonElement? Parameters, string? ArgumentsGrammar = null);

/// <summary>One call the model made: an id (OpenAI's <c>call_…</c>), the function's name and its arguments as JSON text. Immutable.</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);

/// <summary>How the model may use its tools (OpenAI's tool_choice).</summary>
public abstract record ToolChoice
{
    private ToolChoice()
    {
    }

    /// <summary>The model decides; its output is searched for calls.</summary>
    public static ToolChoice Auto { get; } = new AutoChoice();

    /// <summary>The model must not call a tool; its output is text.</summary>
    public static ToolChoice None { get; } = new NoneChoice();

    /// <summary>The model must call at least one tool; a grammar forces a valid call.</summary>
    public static ToolChoice Required { get; } = new RequiredChoice();

    /// <summary>The model must call this function; a grammar forces a valid call to it.</summary>
    public static ToolChoice Function(string name) => new NamedChoice(name);

    public sealed record AutoChoice : ToolChoice;

    public sealed record NoneChoice : ToolChoice;

    public sealed record RequiredChoice : ToolChoice;

    public sealed record NamedChoice(string Name) : ToolChoice;

    /// <summary>Whether generation is constrained to calls.</summary>
    public bool IsForced => this is RequiredChoice or NamedChoice;
}

/// <summary>
/// One turn of a chat as tool calling sees it: an assistant turn may carry calls (its content then may be null), a tool
/// turn carries the id of the call it answers, and whether its content is an error message. Immutable.
/// </summary>
public sealed record ChatTurn(string Role, string? Content, IReadOnlyList<ToolCall>? ToolCalls = null, string? ToolCallId = null, bool IsError = false);

/// <summary>What the model's output meant: text, calls, or both. Immutable.</summary>
/// <param name="Content">The text outside any call; null when there was none.</param>
/// <param name="Calls">The calls, in order; empty when the model answered in text.</param>
public sealed record ToolCallOutput(string? Content, IReadOnlyList<ToolCall> Calls);
