using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Sovereign.Agents.Tools;
using Sovereign.Core.Errors;

namespace Sovereign.Agents.Mcp;

/// <summary>
/// A session with one of the organisation's MCP servers for the length of one run: over stdio (the configured program,
/// started for the run and ended after it) or streamable HTTP (through the allow-listed HttpClient). Its tools are offered
/// to the model as <see cref="IAgentTool"/>s, indistinguishable from built-in ones. Thread-safe; dispose to end the session.
/// </summary>
public sealed class McpConnection : IAsyncDisposable
{
    private readonly McpClient _client;

    private McpConnection(string server, McpClient client, IReadOnlyList<IAgentTool> tools)
    {
        Server = server;
        _client = client;
        Tools = tools;
    }

    public string Server { get; }

    public IReadOnlyList<IAgentTool> Tools { get; }

    /// <summary>Connects and lists the server's tools. Unreachable servers and protocol failures throw a 503 naming the server.</summary>
    /// <param name="http">For URL servers: an HttpClient whose handler enforces the allow-list.</param>
    public static async Task<McpConnection> ConnectAsync(string name, McpServerOptions options, HttpClient? http, ILoggerFactory? loggers, CancellationToken cancellationToken)
    {
        IClientTransport transport;
        if (!string.IsNullOrWhiteSpace(options.Url))
        {
            if (http is null) throw new InvalidOperationException("An HTTP MCP server needs an HttpClient.");
            transport = new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(options.Url),
                TransportMode = HttpTransportMode.StreamableHttp,
                Name = name,
            }, http, loggers, ownsHttpClient: false);
        }
        else if (!string.IsNullOrWhiteSpace(options.Command))
        {
            // A clean environment: the platform's own secrets (SOV_ADMIN_KEY and the like) never reach the tool's process.
            var environment = StdioClientTransportOptions.GetDefaultEnvironmentVariables();
            if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { } dotnetRoot) environment["DOTNET_ROOT"] = dotnetRoot;
            foreach (var (key, value) in options.Environment) environment[key] = value;
            transport = new StdioClientTransport(new StdioClientTransportOptions
            {
                Name = name,
                Command = options.Command,
                Arguments = [.. options.Arguments],
                WorkingDirectory = options.WorkingDirectory,
                InheritEnvironmentVariables = false,
                EnvironmentVariables = environment,
                ShutdownTimeout = TimeSpan.FromSeconds(2),
            }, loggers);
        }
        else
        {
            throw new SovereignException(ErrorKind.Internal, $"The MCP server '{name}' has neither a Command nor a Url (Sovereign:Agents:McpServers:{name}).");
        }

        McpClient client;
        try
        {
            client = await McpClient.CreateAsync(transport, new McpClientOptions
            {
                ClientInfo = new Implementation { Name = "sovereign-agents", Version = "1.0" },
            }, loggers, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new SovereignException(ErrorKind.Unavailable, $"The MCP server '{name}' could not be reached: {Describe(e)}", code: "mcp_server_unavailable", inner: e);
        }

        try
        {
            var listed = await client.ListToolsAsync(cancellationToken: cancellationToken);
            var tools = listed.Select(t => (IAgentTool)new McpTool(client, name, t.Name, t.Description, t.JsonSchema)).ToList();
            return new McpConnection(name, client, tools);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await client.DisposeAsync();
            throw new SovereignException(ErrorKind.Unavailable, $"The MCP server '{name}' did not list its tools: {Describe(e)}", code: "mcp_server_unavailable", inner: e);
        }
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    private static string Describe(Exception e) => e is McpException or IOException or HttpRequestException ? e.Message : $"{e.GetType().Name}: {e.Message}";

    /// <summary>One tool of an MCP server, called through the run's session.</summary>
    private sealed class McpTool(McpClient client, string server, string name, string? description, JsonElement schema) : IAgentTool
    {
        public string Name => name;
        public string Description => description ?? "";
        public JsonElement ParametersSchema => schema;

        public async Task<ToolResult> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
        {
            if (arguments.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined))
                return ToolResult.Error("The arguments must be a JSON object.");
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (arguments.ValueKind == JsonValueKind.Object)
                foreach (var property in arguments.EnumerateObject()) values[property.Name] = property.Value.Clone();

            CallToolResult result;
            try
            {
                result = await client.CallToolAsync(name, values, cancellationToken: cancellationToken);
            }
            catch (McpException e)
            {
                return ToolResult.Error($"The MCP server '{server}' refused the call: {e.Message}");
            }
            catch (Exception e) when (e is IOException or HttpRequestException or ObjectDisposedException)
            {
                return ToolResult.Error($"The MCP server '{server}' could not be reached: {e.Message}");
            }

            var text = new StringBuilder();
            foreach (var block in result.Content)
            {
                if (text.Length > 0) text.Append('\n');
                text.Append(block switch
                {
                    TextContentBlock t => t.Text,
                    _ => $"[{block.Type} content omitted]",
                });
            }
            if (text.Length == 0 && result.StructuredContent is { } structured) text.Append(structured.GetRawText());
            return new ToolResult(text.ToString(), result.IsError == true);
        }
    }
}
