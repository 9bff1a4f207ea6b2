using Microsoft.Extensions.Configuration;
using Sovereign.Apps.Definitions;

namespace Sovereign.Apps.Publishing;

/// <summary>
/// Every tool the app names must exist: one of the agents area's built-in tools (the tool types its tool factory
/// builds), or an MCP server configured under <c>Sovereign:Agents:McpServers</c>. knowledge_search also needs the
/// app's knowledge bases, which it searches. Thread-safe.
/// </summary>
internal sealed class ToolReferenceCheck(IConfiguration configuration) : IAppReferenceCheck
{
    /// <summary>The agents' built-in tool types (Sovereign.Agents.Tools.AgentToolFactory).</summary>
    public static readonly string[] BuiltIn = ["calculator", "date_time", "http_request", "knowledge_search"];

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
                if (!configuration.GetSection(McpServers).GetChildren().Any(s => string.Equals(s.Key, server, StringComparison.OrdinalIgnoreCase)))
                    missing.Add(new MissingReference(field, "tool", tool, $"The tool '{tool}' names the MCP server '{server}', which is not configured ({McpServers}:{server}:…)."));
            }
            else if (!BuiltIn.Contains(tool))
            {
                missing.Add(new MissingReference(field, "tool", tool, $"There is no tool '{tool}' (built-in tools: {string.Join(", ", BuiltIn)}; MCP tools as mcp:<server>[/<tool>])."));
            }
            else if (tool == "knowledge_search" && app.Knowledge is not { Bases.Count: > 0 })
            {
                missing.Add(new MissingReference(field, "tool", tool, "The tool 'knowledge_search' searches the app's knowledge bases, and it names none (set knowledge.bases, or remove the tool)."));
            }
        }
        return Task.FromResult<IReadOnlyList<MissingReference>>(missing);
    }
}
