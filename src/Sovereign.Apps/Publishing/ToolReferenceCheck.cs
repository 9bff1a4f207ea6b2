using Sovereign.Agents.Tools;
using Sovereign.Apps.Definitions;

namespace Sovereign.Apps.Publishing;

/// <summary>
/// Every tool the app names must exist: one the agents' tool factory builds (<see cref="AgentToolFactory.BuiltInTypes"/>),
/// or one of the MCP servers it knows (configured under <c>Sovereign:Agents:McpServers</c>). Asking the factory keeps
/// this check and the tools a run gets from drifting apart. knowledge_search also needs the app's knowledge bases,
/// which it searches. Thread-safe.
/// </summary>
internal sealed class ToolReferenceCheck(AgentToolFactory tools) : IAppReferenceCheck
{
    private const string McpServers = "Sovereign:Agents:McpServers";

    public Task<IReadOnlyList<MissingReference>> FindMissingAsync(AppDefinition app, CancellationToken cancellationToken)
    {
        var missing = new List<MissingReference>();
        for (var i = 0; i < app.Tools.Count; i++)
        {
            var tool = app.Tools[i];
            var field = $"tools[{i}]";
            if (tool.StartsWith("mcp:", StringComparison.Ordinal))
            {
                var server = tool[4..].Split('/', 2)[0];
                if (!tools.McpServers.Any(s => string.Equals(s, server, StringComparison.OrdinalIgnoreCase)))
                    missing.Add(new MissingReference(field, "tool", tool, $"The tool '{tool}' names the MCP server '{server}', which is not configured ({McpServers}:{server}:…)."));
            }
            else if (!AgentToolFactory.BuiltInTypes.Contains(tool))
            {
                missing.Add(new MissingReference(field, "tool", tool, $"There is no tool '{tool}' (built-in tools: {string.Join(", ", AgentToolFactory.BuiltInTypes)}; MCP tools as mcp:<server>[/<tool>])."));
            }
            else if (tool == "knowledge_search" && app.Knowledge is not { Bases.Count: > 0 })
            {
                missing.Add(new MissingReference(field, "tool", tool, "The tool 'knowledge_search' searches the app's knowledge bases, and it names none (set knowledge.bases, or remove the tool)."));
            }
        }
        return Task.FromResult<IReadOnlyList<MissingReference>>(missing);
    }
}
