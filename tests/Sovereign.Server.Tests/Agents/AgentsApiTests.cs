using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sovereign.Server.Tests.EndToEnd;

namespace Sovereign.Server.Tests.Agents;

[Collection(AgentsCollection.Name)]
public class AgentsApiTests(AgentsFixture fixture)
{
    private HttpClient Http => fixture.Server.Http;

    [Fact]
    public async Task Agents_are_created_read_listed_replaced_and_deleted()
    {
        using var created = await Http.PostAsJsonAsync("v1/agents", new
        {
            name = "clerk",
            instructions = "Answer briefly.",
            model = SovereignTestServer.ChatModel,
            tools = new object[] { new { type = "calculator" }, new { type = "mcp", server = "test", tools = new[] { "add" }, require_approval = true } },
            limits = new { max_steps = 5 },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var agent = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        var id = agent["id"]!.GetValue<string>();
        Assert.StartsWith("agt_", id, StringComparison.Ordinal);
        Assert.Equal("agent", agent["object"]!.GetValue<string>());
        Assert.Equal(5, agent["limits"]!["max_steps"]!.GetValue<int>());
        Assert.Equal(120, agent["limits"]!["max_wall_seconds"]!.GetValue<double>());
        Assert.True(agent["tools"]![1]!["require_approval"]!.GetValue<bool>());

        var read = JsonNode.Parse(await Http.GetStringAsync($"v1/agents/{id}"))!;
        Assert.Equal("clerk", read["name"]!.GetValue<string>());
        var list = JsonNode.Parse(await Http.GetStringAsync("v1/agents"))!;
        Assert.Contains(list["data"]!.AsArray(), a => a!["id"]!.GetValue<string>() == id);

        using var replaced = await Http.PutAsJsonAsync($"v1/agents/{id}", new { name = "clerk 2", model = SovereignTestServer.ChatModel });
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        var after = JsonNode.Parse(await Http.GetStringAsync($"v1/agents/{id}"))!;
        Assert.Equal("clerk 2", after["name"]!.GetValue<string>());
        Assert.Empty(after["tools"]!.AsArray());

        using var deleted = await Http.DeleteAsync($"v1/agents/{id}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        using var gone = await Http.GetAsync($"v1/agents/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("agent_not_found", JsonNode.Parse(await gone.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_bad_definition_is_refused_with_every_problem_named()
    {
        using var response = await Http.PostAsJsonAsync("v1/agents", new
        {
            model = "no-such-model",
            tools = new object[] { new { type = "shell" }, new { type = "mcp", server = "elsewhere" }, new { type = "http_request", urls = new[] { "ftp://x" } } },
            tool_choice = "launch_missiles",
            limits = new { max_steps = 0, max_wall_seconds = -1 },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["message"]!.GetValue<string>();
        foreach (var expected in new[] { "'name' is required", "Invalid tool type 'shell'", "No MCP server named 'elsewhere'", "'ftp://x' is not an absolute http",
                     "max_steps must be between 1", "max_wall_seconds must be greater than 0", "The model 'no-such-model' does not exist" })
            Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_fields_bad_input_and_unknown_runs_get_clear_errors()
    {
        using var typo = await Http.PostAsJsonAsync("v1/agents", new { name = "x", model = SovereignTestServer.ChatModel, limits = new { max_step = 3 } });
        Assert.Equal(HttpStatusCode.BadRequest, typo.StatusCode);
        Assert.Contains("max_step", await typo.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var id = await fixture.CreateAgentAsync(new { name = "x", model = SovereignTestServer.ChatModel });
        using var empty = await Http.PostAsJsonAsync($"v1/agents/{id}/runs", new { input = "" });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        using var noRun = await Http.GetAsync($"v1/agents/{id}/runs/run_nope");
        Assert.Equal(HttpStatusCode.NotFound, noRun.StatusCode);
        using var badDecision = await Http.PostAsJsonAsync($"v1/agents/{id}/runs/run_nope/approvals/call_1", new { decision = "maybe" });
        Assert.Equal(HttpStatusCode.BadRequest, badDecision.StatusCode);
        using var noAgent = await Http.PostAsJsonAsync("v1/agents/agt_nope/runs", new { input = "hi" });
        Assert.Equal(HttpStatusCode.NotFound, noAgent.StatusCode);
    }
}
