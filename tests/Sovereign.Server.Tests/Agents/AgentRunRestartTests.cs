using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Sovereign.Models.Store;
using Sovereign.Server.Tests.EndToEnd;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Agents;

/// <summary>
/// A run does not survive its server: its model conversation and MCP sessions lived in that process. What must survive is
/// the truth about it. A run that waited for a person when the server stopped (gracefully, or by a crash) is marked
/// failed with stop reason "interrupted" and an error naming the call; its call is no longer pending and cannot be
/// approved. Resuming is not offered.
/// </summary>
public sealed class AgentRunRestartTests
{
    [Fact]
    public async Task A_run_waiting_for_approval_when_the_server_stops_is_marked_failed_after_a_stop_and_after_a_crash()
    {
        var home = TestHost.NewHome();
        try
        {
            await new FileModelStore(new Sovereign.Core.Options.SovereignPaths(home)).ImportAsync(TestModels.Stories260K, ModelName.Parse(SovereignTestServer.ChatModel), "chatml");
            string[] settings = ["--Sovereign:Agents:McpServers:test:Command=dotnet", $"--Sovereign:Agents:McpServers:test:Arguments:0={AgentsFixture.TestMcpServerDll()}"];
            string agentId, runId, callId;

            // :: A run pauses for approval, and the server stops while it waits.
            await using (var first = await TestHost.StartAsync(home, settings: settings))
            {
                var http = first.AdminClient();
                http.Timeout = TimeSpan.FromMinutes(5);
                using (var created = await http.PostAsJsonAsync("v1/agents", new
                {
                    name = "approver", instructions = "You add numbers.", model = SovereignTestServer.ChatModel,
                    tools = new object[] { new { type = "mcp", server = "test", tools = new[] { "add" }, require_approval = true } },
                    tool_choice = "add", temperature = 0, seed = 7, limits = new { max_steps = 3, max_wall_seconds = 300, max_tokens_per_step = 160 },
                }))
                {
                    Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                    agentId = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
                }
                (runId, callId) = await WaitForApprovalAsync(http, agentId);
                var waiting = await GetRunAsync(http, agentId, runId);
                Assert.Equal("awaiting_approval", waiting["status"]!.GetValue<string>());
                Assert.Equal([callId], waiting["pending_approvals"]!.AsArray().Select(n => n!.GetValue<string>()));
            }

            // :: After a stop: failed, interrupted, the call named, nothing pending, and an approval is refused saying why.
            await using (var second = await TestHost.StartAsync(home, settings: settings))
            {
                var http = second.AdminClient();
                var run = await GetRunAsync(http, agentId, runId);
                AssertInterrupted(run, callId);
                using var approval = await http.PostAsJsonAsync($"v1/agents/{agentId}/runs/{runId}/approvals/{callId}", new { decision = "approve" });
                Assert.Equal(HttpStatusCode.Conflict, approval.StatusCode);
                Assert.Contains("interrupted", await approval.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            // :: A crash leaves the run as it was while it waited (no stop handler ran): rewind the rows to that state.
            await using (var connection = new SqliteConnection($"Data Source={Path.Combine(home, "sovereign.db")};Pooling=False"))
            {
                await connection.OpenAsync();
                await using var rewind = connection.CreateCommand();
                rewind.CommandText = """
                    UPDATE agent_runs SET status = 'awaiting_approval', stop_reason = NULL, error = NULL, finished_at = NULL WHERE id = $run;
                    UPDATE agent_run_approvals SET decision = NULL, decided_at = NULL WHERE run_id = $run;
                    """;
                rewind.Parameters.AddWithValue("$run", runId);
                Assert.Equal(2, await rewind.ExecuteNonQueryAsync());
            }
            await using (var third = await TestHost.StartAsync(home, settings: settings))
            {
                AssertInterrupted(await GetRunAsync(third.AdminClient(), agentId, runId), callId);
            }
        }
        finally
        {
            TestHost.TryDelete(home);
        }
    }

    private static void AssertInterrupted(JsonObject run, string callId)
    {
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Equal("interrupted", run["stop_reason"]!.GetValue<string>());
        var error = run["error"]!.GetValue<string>();
        Assert.Contains($"waited for approval of 'add' (call {callId})", error, StringComparison.Ordinal);
        Assert.Contains("start it again", error, StringComparison.Ordinal);
        Assert.NotNull(run["finished_at"]);
        Assert.Null(run["pending_approvals"]);
    }

    /// <summary>Starts a run and reads its events until it asks for approval; returns the run and the call, and leaves the stream.</summary>
    private static async Task<(string RunId, string CallId)> WaitForApprovalAsync(HttpClient http, string agentId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/agents/{agentId}/runs")
        {
            Content = new StringContent("""{"input":"Add, with permission."}""", Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var runId = response.Headers.GetValues("X-Run-Id").Single();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        string? type = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && type is "approval_required")
                return (runId, JsonNode.Parse(line[6..])!["call_id"]!.GetValue<string>());
            else if (type is "run_finished") Assert.Fail("The run finished without asking for approval: " + line);
        }
        throw new InvalidOperationException("The run's stream ended without asking for approval.");
    }

    private static async Task<JsonObject> GetRunAsync(HttpClient http, string agentId, string runId) =>
        JsonNode.Parse(await http.GetStringAsync($"v1/agents/{agentId}/runs/{runId}"))!.AsObject();
}
