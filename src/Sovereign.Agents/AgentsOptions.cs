using System.ComponentModel.DataAnnotations;

namespace Sovereign.Agents;

/// <summary>
/// Settings of the agents area, bound from <c>Sovereign:Agents</c>. The organisation's MCP servers are named here, never
/// by an agent definition, so an API caller can choose among them but cannot make the server start a program or call a URL
/// of its own choosing.
/// </summary>
public sealed class AgentsOptions
{
    public const string Section = "Sovereign:Agents";

    public HttpToolOptions Http { get; set; } = new();

    /// <summary>The organisation's MCP servers by name (<c>Sovereign:Agents:McpServers:files:Command=…</c>). Default: none.</summary>
    public Dictionary<string, McpServerOptions> McpServers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How long a run waits for a person to approve or reject a tool call before it ends. Default 15 minutes.</summary>
    public TimeSpan ApprovalTimeout { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>The built-in HTTP request tool. It reaches only hosts in <c>Sovereign:AllowedHosts</c>.</summary>
public sealed class HttpToolOptions
{
    /// <summary>
    /// Allowed host names that may resolve to loopback, private, link-local or unique-local addresses (internal services).
    /// Any other name that resolves to such an address is refused, so a DNS answer cannot turn an allowed name into a way
    /// inside. An allowed IP literal (<c>10.0.0.5:8080</c>) is explicit and needs no entry here. Cloud metadata addresses
    /// are refused always. Default: none.
    /// </summary>
    public List<string> InternalHosts { get; set; } = [];

    /// <summary>Largest response body the tool reads; a larger one is refused. Default 256 KiB.</summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxResponseBytes { get; set; } = 256 * 1024;

    /// <summary>Longest one request (all redirects included) may take. Default 15 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Redirects followed within the same host; a redirect to another host is never followed. Default 3.</summary>
    [Range(0, 10)]
    public int MaxRedirects { get; set; } = 3;
}

/// <summary>One MCP server: a local program over stdio (<see cref="Command"/>) or a streamable-HTTP endpoint (<see cref="Url"/>).</summary>
public sealed class McpServerOptions
{
    /// <summary>The program to start for stdio (e.g. <c>dotnet</c> or <c>/opt/mcp/files-server</c>).</summary>
    public string? Command { get; set; }

    public List<string> Arguments { get; set; } = [];

    public string? WorkingDirectory { get; set; }

    /// <summary>Environment variables for the program.</summary>
    public Dictionary<string, string> Environment { get; set; } = [];

    /// <summary>A streamable-HTTP MCP endpoint; its host must be in <c>Sovereign:AllowedHosts</c>.</summary>
    public string? Url { get; set; }

    /// <summary>Tools of this server that always need a person's approval, whatever the agent says. Default: none.</summary>
    public List<string> RequireApproval { get; set; } = [];
}
