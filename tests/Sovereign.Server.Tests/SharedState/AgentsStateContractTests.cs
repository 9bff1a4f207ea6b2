using Microsoft.Extensions.DependencyInjection;
using Sovereign.Agents.Definitions;
using Sovereign.Agents.Runs;
using Sovereign.Agents.Storage;
using Sovereign.Core.Tenancy;

namespace Sovereign.Server.Tests.SharedState;

/// <summary>What the agent and run stores promise, on SQLite and on PostgreSQL, seen from two nodes.</summary>
public abstract class AgentsStateContractTests(TenancyBackend backend) : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await backend.DisposeAsync();

    [Fact]
    public async Task An_agent_made_on_one_node_runs_are_traced_on_the_other_and_deleting_it_takes_its_runs()
    {
        var time = new ManualTime(Start);
        var a = await backend.NodeAsync(time);
        var b = await backend.NodeAsync(time);
        // A tenant made through the tenant store: agents reference it, wherever tenants live.
        await a.GetRequiredService<Sovereign.Server.Tenancy.ITenantStore>().CreateAsync("clinic", "Clinic", 1);
        using var tenant = TenantScope.Enter("clinic");

        var agent = await a.GetRequiredService<IAgentStore>().CreateAsync(new AgentDefinition { Name = "triage", Model = "stories" });
        var agentsOnB = b.GetRequiredService<IAgentStore>();
        Assert.Equal("triage", (await agentsOnB.GetAsync(agent.Id))!.Definition.Name);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("triage-2", (await agentsOnB.UpdateAsync(agent.Id, new AgentDefinition { Name = "triage-2", Model = "stories" }))!.Definition.Name);
        Assert.Equal([agent.Id], (await a.GetRequiredService<IAgentStore>().ListAsync()).Select(x => x.Id));

        var run = new AgentRunRecord { Id = "run_1", AgentId = agent.Id, Status = "running", Input = "hello", Definition = agent.Definition, StartedAt = Start };
        await a.GetRequiredService<IAgentRunStore>().CreateAsync(run);
        await b.GetRequiredService<IAgentRunStore>().AppendStepAsync("run_1", new RunTraceStep { Seq = 0, Kind = RunTraceStep.ModelKind, Step = 1, StartedAt = Start, PromptTokens = 7 });
        await a.GetRequiredService<IAgentRunStore>().AppendStepAsync("run_1", new RunTraceStep { Seq = 1, Kind = RunTraceStep.ToolKind, Step = 1, StartedAt = Start, Tool = "calculator" });
        await b.GetRequiredService<IAgentRunStore>().UpdateAsync(run with { Status = "completed", Answer = "42", Steps = 1, ToolMilliseconds = 5_000_000_000, FinishedAt = Start.AddSeconds(2) });

        var runsOnA = a.GetRequiredService<IAgentRunStore>();
        var finished = (await runsOnA.GetAsync(agent.Id, "run_1"))!;
        Assert.Equal(("completed", "42", 5_000_000_000L, Start.AddSeconds(2)), (finished.Status, finished.Answer, finished.ToolMilliseconds, finished.FinishedAt!.Value));
        Assert.Null(finished.StopReason);
        Assert.Equal([RunTraceStep.ModelKind, RunTraceStep.ToolKind], (await runsOnA.StepsAsync("run_1")).Select(s => s.Kind));
        Assert.Equal(["run_1"], (await runsOnA.ListAsync(agent.Id, 10)).Select(r => r.Id));

        using (TenantScope.Enter(Sovereign.Server.Auth.Tenants.Default))
        {
            Assert.Null(await agentsOnB.GetAsync(agent.Id));
            Assert.Null(await runsOnA.GetAsync(agent.Id, "run_1"));
        }
        Assert.True(await agentsOnB.DeleteAsync(agent.Id));
        Assert.Null(await runsOnA.GetAsync(agent.Id, "run_1"));
        Assert.Empty(await runsOnA.StepsAsync("run_1"));
    }
}

public sealed class SqliteAgentsStateTests() : AgentsStateContractTests(new SqliteTenancyBackend());

[Collection(PostgresCollection.Name)]
public sealed class PostgresAgentsStateTests(PostgresServerFixture postgres) : AgentsStateContractTests(new PostgresTenancyBackend(postgres));
