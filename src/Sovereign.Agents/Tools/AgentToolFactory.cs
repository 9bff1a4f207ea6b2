using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Agents.Definitions;
using Sovereign.Agents.Mcp;
using Sovereign.Agents.Tools.Calculator;
using Sovereign.Agents.Tools.Http;
using Sovereign.Agents.Tools.Knowledge;
using Sovereign.Agents.Tools.Time;
using Sovereign.Core.Errors;
using Sovereign.Core.Options;
using Sovereign.Knowledge.Retrieval;

namespace Sovereign.Agents.Tools;

/// <summary>
/// The tools of one run, fixed before its first step: nothing the model or a tool says later can add to them. Owns the
/// run's MCP sessions; dispose when the run ends.
/// </summary>
public sealed class RunTools(IReadOnlyList<IAgentTool> tools, IReadOnlySet<string> requireApproval, IReadOnlyList<McpConnection> connections) : IAsyncDisposable
{
    public IReadOnlyList<IAgentTool> Tools { get; } = tools;

    /// <summary>Names of the tools whose every call waits for a person.</summary>
    public IReadOnlySet<string> RequireApproval { get; } = requireApproval;

    public IAgentTool? Find(string name) => Tools.FirstOrDefault(t => t.Name == name);

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in connections) await connection.DisposeAsync();
    }
}

/// <summary>Builds a run's <see cref="RunTools"/> from an agent definition. Thread-safe; built-in tools are shared between runs.</summary>
public sealed class AgentToolFactory : IDisposable
{
    private readonly AgentsOptions _options;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory? _loggers;
    private readonly CalculatorTool _calculator = new();
    private readonly DateTimeTool _dateTime;
    private readonly HttpRequestTool _http;

    public AgentToolFactory(IOptions<AgentsOptions> options, IOptions<SovereignOptions> sovereign, TimeProvider time, IServiceProvider services, ILoggerFactory? loggers = null)
    {
        _options = options.Value;
        _services = services;
        _loggers = loggers;
        _dateTime = new DateTimeTool(time);
        _http = new HttpRequestTool(sovereign.Value.AllowedHosts, _options.Http);
    }

    /// <summary>The built-in tool types this factory builds (an agent's <c>tools[].type</c>, besides <c>mcp</c>).</summary>
    public static IReadOnlyList<string> BuiltInTypes => AgentDefinitionValidator.BuiltInTypes;

    /// <summary>Whether knowledge search is installed here (the knowledge area registered <see cref="IKnowledgeSearch"/>).</summary>
    public bool KnowledgeAvailable => _services.GetService<IKnowledgeSearch>() is not null;

    public IReadOnlyCollection<string> McpServers => _options.McpServers.Keys;

    public async Task<RunTools> CreateAsync(AgentDefinition definition, CancellationToken cancellationToken)
    {
        var tools = new List<IAgentTool>();
        var approval = new HashSet<string>(StringComparer.Ordinal);
        var connections = new List<McpConnection>();
        try
        {
            foreach (var spec in definition.Tools)
            {
                var added = await AddAsync(spec, tools, approval, connections, cancellationToken);
                if (spec.RequireApproval) approval.UnionWith(added.Select(t => t.Name));
            }
            var duplicate = tools.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                throw new SovereignException(ErrorKind.Conflict, $"Two of the agent's tools are named '{duplicate.Key}'; narrow an mcp entry's 'tools' so each name is offered once.", "tools", "duplicate_tool");
            return new RunTools(tools, approval, connections);
        }
        catch
        {
            foreach (var connection in connections) await connection.DisposeAsync();
            throw;
        }
    }

    private async Task<IReadOnlyList<IAgentTool>> AddAsync(AgentToolSpec spec, List<IAgentTool> tools, HashSet<string> approval, List<McpConnection> connections, CancellationToken ct)
    {
        IReadOnlyList<IAgentTool> added;
        switch (spec.Type)
        {
            case "calculator":
                added = [_calculator];
                break;
            case "date_time":
                added = [_dateTime];
                break;
            case "http_request":
                added = [spec.Urls is { Count: > 0 } urls ? new ScopedHttpRequestTool(_http, urls) : _http];
                break;
            case "knowledge_search":
                var search = _services.GetService<IKnowledgeSearch>()
                    ?? throw new SovereignException(ErrorKind.Unavailable, "Knowledge search is not installed on this server.", "tools", "knowledge_unavailable");
                added = [new KnowledgeSearchTool(search, spec.KnowledgeBases ?? [])];
                break;
            case "mcp":
                var name = spec.Server ?? "";
                if (!_options.McpServers.TryGetValue(name, out var server))
                    throw new SovereignException(ErrorKind.NotFound, $"No MCP server named '{name}' is configured (Sovereign:Agents:McpServers).", "tools", "mcp_server_not_found");
                var http = string.IsNullOrWhiteSpace(server.Url) ? null : _services.GetService<IHttpClientFactory>()?.CreateClient("mcp");
                var connection = await McpConnection.ConnectAsync(name, server, http, _loggers, ct);
                connections.Add(connection);
                var offered = connection.Tools;
                if (spec.Tools is { } wanted)
                {
                    var missing = wanted.Where(w => offered.All(t => t.Name != w)).ToList();
                    if (missing.Count > 0)
                        throw new SovereignException(ErrorKind.NotFound, $"The MCP server '{name}' has no tool {string.Join(", ", missing.Select(m => $"'{m}'"))}; it offers {string.Join(", ", offered.Select(t => t.Name))}.", "tools", "mcp_tool_not_found");
                    offered = [.. offered.Where(t => wanted.Contains(t.Name))];
                }
                added = offered;
                approval.UnionWith(added.Select(t => t.Name).Where(server.RequireApproval.Contains));
                break;
            default:
                throw new SovereignException(ErrorKind.InvalidRequest, $"Unknown tool type '{spec.Type}'.", "tools");
        }
        tools.AddRange(added);
        return added;
    }

    public void Dispose() => _http.Dispose();
}
