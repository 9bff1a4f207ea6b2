using System.Text.RegularExpressions;

namespace Sovereign.Agents.Definitions;

/// <summary>Checks an agent definition completely and reports every problem at once, each naming its field. Thread-safe.</summary>
public static partial class AgentDefinitionValidator
{
    public const int MaxNameLength = 100;
    public const int MaxInstructionsLength = 100_000;
    public const int MaxTools = 64;

    public static readonly string[] BuiltInTypes = ["calculator", "date_time", "http_request", "knowledge_search"];

    /// <summary>Every problem as (field, message); empty when valid.</summary>
    /// <param name="mcpServers">The configured MCP server names.</param>
    /// <param name="knowledgeAvailable">Whether knowledge search is installed on this server.</param>
    public static IReadOnlyList<(string Param, string Message)> Validate(AgentDefinition definition, IReadOnlyCollection<string> mcpServers, bool knowledgeAvailable)
    {
        var problems = new List<(string, string)>();
        if (string.IsNullOrWhiteSpace(definition.Name)) problems.Add(("name", "'name' is required."));
        else if (definition.Name.Length > MaxNameLength) problems.Add(("name", $"name must be at most {MaxNameLength} characters, got {definition.Name.Length}."));
        if (string.IsNullOrWhiteSpace(definition.Model)) problems.Add(("model", "'model' is required."));
        if (definition.Instructions.Length > MaxInstructionsLength)
            problems.Add(("instructions", $"instructions must be at most {MaxInstructionsLength} characters, got {definition.Instructions.Length}."));

        if (definition.Tools.Count > MaxTools) problems.Add(("tools", $"An agent may have at most {MaxTools} tool entries, got {definition.Tools.Count}."));
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < definition.Tools.Count; i++)
        {
            var tool = definition.Tools[i];
            var param = $"tools[{i}]";
            if (tool is null)
            {
                problems.Add((param, $"'{param}' must be a tool object."));
                continue;
            }
            switch (tool.Type)
            {
                case "calculator" or "date_time" or "http_request":
                    if (!names.Add(tool.Type)) problems.Add(($"{param}.type", $"The tool '{tool.Type}' is listed twice."));
                    if (tool.Type == "http_request" && tool.Urls is { } urls)
                    {
                        if (urls.Count == 0) problems.Add(($"{param}.urls", "'urls' must name at least one URL (or be left out)."));
                        foreach (var url in urls)
                            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                                problems.Add(($"{param}.urls", $"'{url}' is not an absolute http or https URL."));
                    }
                    break;
                case "knowledge_search":
                    if (!names.Add(tool.Type)) problems.Add(($"{param}.type", "The tool 'knowledge_search' is listed twice."));
                    if (tool.KnowledgeBases is not { Count: > 0 } bases || bases.Any(string.IsNullOrWhiteSpace))
                        problems.Add(($"{param}.knowledge_bases", "knowledge_search needs 'knowledge_bases': the ids or names of the knowledge bases it searches."));
                    if (!knowledgeAvailable) problems.Add(($"{param}.type", "Knowledge search is not installed on this server."));
                    break;
                case "mcp":
                    if (string.IsNullOrWhiteSpace(tool.Server)) problems.Add(($"{param}.server", "An mcp tool entry needs 'server': the name of one of the organisation's MCP servers."));
                    else if (!mcpServers.Contains(tool.Server, StringComparer.OrdinalIgnoreCase))
                        problems.Add(($"{param}.server", mcpServers.Count == 0
                            ? $"No MCP server named '{tool.Server}': none is configured (Sovereign:Agents:McpServers)."
                            : $"No MCP server named '{tool.Server}'; configured: {string.Join(", ", mcpServers.Order(StringComparer.Ordinal))}."));
                    foreach (var name in tool.Tools ?? [])
                        if (!IsToolName(name)) problems.Add(($"{param}.tools", $"'{name}' is not a tool name (letters, digits, '_' and '-', at most 64)."));
                    break;
                default:
                    problems.Add(($"{param}.type", $"Invalid tool type '{tool.Type}'. Supported: {string.Join(", ", BuiltInTypes)} and mcp."));
                    break;
            }
        }

        var choice = definition.ToolChoice;
        if (choice is not ("auto" or "none" or "required"))
        {
            var mcpListed = definition.Tools.Where(t => t?.Type == "mcp").SelectMany(t => t.Tools ?? []);
            var mcpAll = definition.Tools.Any(t => t?.Type == "mcp" && t.Tools is null);
            if (!IsToolName(choice) || !(names.Contains(choice) || mcpListed.Contains(choice) || mcpAll))
                problems.Add(("tool_choice", $"tool_choice must be auto, none, required or the name of one of the agent's tools; got '{choice}'."));
        }
        if (choice is not ("auto" or "none") && definition.Tools.Count == 0)
            problems.Add(("tool_choice", $"tool_choice '{choice}' needs at least one tool."));

        var limits = definition.Limits;
        if (limits.MaxSteps is < 1 or > AgentLimits.MaxStepsCeiling)
            problems.Add(("limits.max_steps", $"max_steps must be between 1 and {AgentLimits.MaxStepsCeiling}, got {limits.MaxSteps}."));
        if (!double.IsFinite(limits.MaxWallSeconds) || limits.MaxWallSeconds <= 0 || limits.MaxWallSeconds > AgentLimits.MaxWallSecondsCeiling)
            problems.Add(("limits.max_wall_seconds", $"max_wall_seconds must be greater than 0 and at most {AgentLimits.MaxWallSecondsCeiling}, got {limits.MaxWallSeconds}."));
        if (limits.MaxTokens is < 1 or > AgentLimits.MaxTokensCeiling)
            problems.Add(("limits.max_tokens", $"max_tokens must be between 1 and {AgentLimits.MaxTokensCeiling}, got {limits.MaxTokens}."));
        if (!double.IsFinite(limits.MaxToolSeconds) || limits.MaxToolSeconds <= 0 || limits.MaxToolSeconds > AgentLimits.MaxToolSecondsCeiling)
            problems.Add(("limits.max_tool_seconds", $"max_tool_seconds must be greater than 0 and at most {AgentLimits.MaxToolSecondsCeiling}, got {limits.MaxToolSeconds}."));
        if (limits.MaxTokensPerStep is < 1 or > 32_768)
            problems.Add(("limits.max_tokens_per_step", $"max_tokens_per_step must be between 1 and 32768, got {limits.MaxTokensPerStep}."));
        if (!float.IsFinite(definition.Temperature) || definition.Temperature is < 0 or > 2)
            problems.Add(("temperature", $"temperature must be between 0 and 2, got {definition.Temperature}."));
        return problems;
    }

    public static bool IsToolName(string? name) => name is not null && ToolNamePattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex ToolNamePattern();
}
