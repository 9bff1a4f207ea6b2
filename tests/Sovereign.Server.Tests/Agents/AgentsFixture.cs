using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sovereign.Server.Tests.EndToEnd;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Agents;

/// <summary>
/// One real server for the agents tests (real model in a runner, real SQLite), configured with the test MCP server over
/// stdio as "test", and a real HTTP tool host on 127.0.0.1 that the allow-list permits.
/// </summary>
public sealed class AgentsFixture : IAsyncLifetime
{
    private WebApplication _toolHost = null!;

    public SovereignTestServer Server { get; private set; } = null!;
    public int ToolHostPort { get; private set; }
    public string HelloUrl => $"http://127.0.0.1:{ToolHostPort}/hello";
    public string SlowUrl => $"http://127.0.0.1:{ToolHostPort}/slow";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _toolHost = builder.Build();
        _toolHost.MapGet("/hello", () => Results.Text("hello from the tool host", "text/plain"));
        _toolHost.MapGet("/slow", async (CancellationToken ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(60), ct);
            return Results.Text("late", "text/plain");
        });
        await _toolHost.StartAsync();
        ToolHostPort = new Uri(_toolHost.Urls.First()).Port;

        Server = await SovereignTestServer.StartAsync(
            "--Sovereign:Engine:Slots=4",
            $"--Sovereign:AllowedHosts:0=127.0.0.1:{ToolHostPort}",
            "--Sovereign:Agents:McpServers:test:Command=dotnet",
            $"--Sovereign:Agents:McpServers:test:Arguments:0={TestMcpServerDll()}",
            "--Sovereign:Agents:ApprovalTimeout=00:10:00");
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await _toolHost.StopAsync();
        await _toolHost.DisposeAsync();
    }

    /// <summary>Creates an agent on the chat model (greedy, fixed seed) and returns its id.</summary>
    public async Task<string> CreateAgentAsync(object definition)
    {
        using var response = await Server.Http.PostAsJsonAsync("v1/agents", definition);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonNode.Parse(body)!["id"]!.GetValue<string>();
    }

    /// <summary>
    /// Runs the agent, reading its server-sent events to the end (ten minutes at most); <paramref name="onEvent"/> sees
    /// each as it comes.
    /// </summary>
    public Task<List<(string Type, JsonObject Data)>> RunAsync(string agentId, string input, Func<string, JsonObject, Task>? onEvent = null) =>
        // Off xunit's synchronization context: the in-process server's background work shares it, and a handler that must
        // answer while the run waits (an approval) was starved there until the run gave up.
        Task.Run(() => ReadRunAsync(agentId, input, onEvent));

    private async Task<List<(string Type, JsonObject Data)>> ReadRunAsync(string agentId, string input, Func<string, JsonObject, Task>? onEvent)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/agents/{agentId}/runs")
        {
            Content = new StringContent(new JsonObject { ["input"] = input }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var response = await Server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        // Read the body for the message only on failure: reading it first would wait for the whole stream, so a handler
        // meant to act during the run (an approval) would only see its events after the run had ended.
        if (!response.IsSuccessStatusCode) Assert.Fail(await response.Content.ReadAsStringAsync());
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<(string, JsonObject)>();
        string? type = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                var data = JsonNode.Parse(line[6..])!.AsObject();
                events.Add((type!, data));
                if (onEvent is not null) await onEvent(type!, data);
            }
        }
        return events;
    }

    public async Task<JsonObject> GetRunAsync(string agentId, string runId) =>
        JsonNode.Parse(await Server.Http.GetStringAsync($"v1/agents/{agentId}/runs/{runId}"))!.AsObject();

    internal static string TestMcpServerDll()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var dll = Path.Combine(TestFiles.RepoRoot, "tests", "Sovereign.Agents.TestMcpServer", "bin", configuration, "net10.0", "Sovereign.Agents.TestMcpServer.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"The test MCP server is not built: {dll}");
    }
}

[CollectionDefinition(Name)]
public sealed class AgentsCollection : ICollectionFixture<AgentsFixture>
{
    public const string Name = "agents server";
}
