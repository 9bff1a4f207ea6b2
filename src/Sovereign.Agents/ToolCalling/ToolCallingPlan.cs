using System.Text.RegularExpressions;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Agents.ToolCalling;

/// <summary>
/// A chat with tools, made ready for the engine: the messages (tools described in the system turn, earlier calls and
/// results in the family's format) and, when a call is required or named, the grammar that forces one. Immutable.
/// </summary>
public sealed partial record ToolCallingPlan(IReadOnlyList<ChatMessage> Messages, string? Grammar, ToolCallFormat Format,
    IReadOnlyList<ToolDefinition> Tools, ToolChoice Choice)
{
    /// <summary>Most tools one request may carry.</summary>
    public const int MaxTools = 128;

    /// <summary>
    /// Builds the plan.
    /// <list type="number">
    /// <item>Check the tools (names unique and well formed) and the choice (a named function must exist).</item>
    /// <item>Render the turns: tools into the system turn (a new one first if there is none), assistant calls in the
    /// family's markup, tool results framed as data and tied to the call they answer.</item>
    /// <item>For required or named: compile the grammar that admits only valid calls (schema-checked arguments).</item>
    /// </list>
    /// </summary>
    /// <exception cref="SovereignException">400 naming the offending field.</exception>
    public static ToolCallingPlan Create(IReadOnlyList<ChatTurn> turns, IReadOnlyList<ToolDefinition> tools, ToolChoice choice, bool parallel, ToolCallFormat format)
    {
        ArgumentNullException.ThrowIfNull(turns);
        ArgumentNullException.ThrowIfNull(tools);
        ArgumentNullException.ThrowIfNull(choice);
        ArgumentNullException.ThrowIfNull(format);

        // :: Step 1
        if (tools.Count > MaxTools)
            throw SovereignException.Invalid($"At most {MaxTools} tools may be given, got {tools.Count}.", "tools");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tools.Count; i++)
        {
            if (!NamePattern().IsMatch(tools[i].Name))
                throw SovereignException.Invalid($"Invalid 'tools[{i}].function.name': '{tools[i].Name}'. Names are 1 to 64 letters, digits, '_' and '-'.", $"tools[{i}].function.name");
            if (!seen.Add(tools[i].Name))
                throw SovereignException.Invalid($"Two tools are named '{tools[i].Name}'; names must be unique.", $"tools[{i}].function.name");
        }
        if (choice.IsForced && tools.Count == 0)
            throw SovereignException.Invalid("tool_choice requires a call, but no tools were given.", "tool_choice");
        if (choice is ToolChoice.NamedChoice named && !seen.Contains(named.Name))
            throw SovereignException.Invalid($"tool_choice names the function '{named.Name}', which is not among the tools.", "tool_choice");

        // :: Step 2
        var messages = new List<ChatMessage>();
        var callNames = new Dictionary<string, string>(StringComparer.Ordinal);
        if (tools.Count > 0)
        {
            var toolText = format.RenderTools(tools, choice.IsForced);
            if (turns.Count > 0 && turns[0].Role == "system")
                messages.Add(new ChatMessage("system", (turns[0].Content ?? "") + "\n\n" + toolText));
            else
                messages.Add(new ChatMessage("system", toolText));
        }
        for (var i = 0; i < turns.Count; i++)
        {
            var turn = turns[i];
            if (i == 0 && turn.Role == "system" && tools.Count > 0)
                continue;
            switch (turn.Role)
            {
                case "assistant" when turn.ToolCalls is { Count: > 0 } calls:
                    foreach (var c in calls) callNames[c.Id] = c.Name;
                    messages.Add(new ChatMessage("assistant", format.RenderCalls(turn.Content, calls)) { ContentIsMarkup = format.MarkupIsSpecial });
                    break;
                case "tool":
                    if (string.IsNullOrEmpty(turn.ToolCallId))
                        throw SovereignException.Invalid($"Missing required parameter: 'messages[{i}].tool_call_id'.", $"messages[{i}].tool_call_id");
                    if (!callNames.TryGetValue(turn.ToolCallId, out var name))
                        throw SovereignException.Invalid($"messages[{i}] answers the tool call '{turn.ToolCallId}', which no earlier assistant message made.", $"messages[{i}].tool_call_id");
                    messages.Add(format.RenderResult(name, turn.ToolCallId, turn.Content ?? "", turn.IsError));
                    break;
                default:
                    messages.Add(new ChatMessage(turn.Role, turn.Content ?? ""));
                    break;
            }
        }

        // :: Step 3
        string? grammar = null;
        if (choice is ToolChoice.NamedChoice only)
            grammar = format.ForcedGrammar(tools, [IndexOf(tools, only.Name)], parallel: false);
        else if (choice is ToolChoice.RequiredChoice)
            grammar = format.ForcedGrammar(tools, [.. Enumerable.Range(0, tools.Count)], parallel);
        return new ToolCallingPlan(messages, grammar, format, tools, choice);
    }

    /// <summary>What the model's output meant: calls (none when the choice is none) and text.</summary>
    public ToolCallOutput ParseOutput(string output) =>
        Choice is ToolChoice.NoneChoice || Tools.Count == 0 ? new ToolCallOutput(output, []) : Format.Parse(output, Tools);

    private static int IndexOf(IReadOnlyList<ToolDefinition> tools, string name)
    {
        for (var i = 0; i < tools.Count; i++)
        {
            if (tools[i].Name == name) return i;
        }
        return -1;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();
}
