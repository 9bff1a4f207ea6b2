using System.Text.Json;
using Npgsql;
using Sovereign.Agents.Definitions;
using Sovereign.Agents.Runs;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Agents.Storage;

/// <summary>Agents in the cluster's PostgreSQL, filtered by the tenant in scope; every node sees the same agents. Thread-safe.</summary>
internal sealed class PostgresAgentStore(PostgresDatabase database, TimeProvider time) : IAgentStore
{
    public async Task<StoredAgent> CreateAsync(AgentDefinition definition, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var agent = new StoredAgent(Ids.New("agt_"), definition, now, now);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "INSERT INTO agents (id, tenant_id, name, definition, created_at, updated_at) VALUES (@id, @t, @n, @d, @c, @c)", connection);
        command.Parameters.AddWithValue("id", agent.Id);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("n", definition.Name);
        command.Parameters.AddWithValue("d", JsonSerializer.Serialize(definition, AgentsJsonContext.Default.AgentDefinition));
        command.Parameters.AddWithValue("c", now.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
        return agent;
    }

    public async Task<StoredAgent?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT id, definition, created_at, updated_at FROM agents WHERE tenant_id = @t AND id = @id", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<StoredAgent>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT id, definition, created_at, updated_at FROM agents WHERE tenant_id = @t ORDER BY created_at, id COLLATE \"C\"", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var agents = new List<StoredAgent>();
        while (await reader.ReadAsync(cancellationToken)) agents.Add(Read(reader));
        return agents;
    }

    public async Task<StoredAgent?> UpdateAsync(string id, AgentDefinition definition, CancellationToken cancellationToken = default)
    {
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await using var command = new NpgsqlCommand(
                "UPDATE agents SET name = @n, definition = @d, updated_at = @u WHERE tenant_id = @t AND id = @id", connection);
            command.Parameters.AddWithValue("t", TenantScope.Require());
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("n", definition.Name);
            command.Parameters.AddWithValue("d", JsonSerializer.Serialize(definition, AgentsJsonContext.Default.AgentDefinition));
            command.Parameters.AddWithValue("u", time.GetUtcNow().ToUnixTimeMilliseconds());
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0) return null;
        }
        return await GetAsync(id, cancellationToken);
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("DELETE FROM agents WHERE tenant_id = @t AND id = @id", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    private static StoredAgent Read(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        JsonSerializer.Deserialize(reader.GetString(1), AgentsJsonContext.Default.AgentDefinition)!,
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
}

/// <summary>Runs and trace steps in the cluster's PostgreSQL, filtered by the tenant in scope. Thread-safe.</summary>
internal sealed class PostgresAgentRunStore(PostgresDatabase database) : IAgentRunStore
{
    private const string Columns = "id, agent_id, status, stop_reason, input, answer, error, definition, steps, prompt_tokens, completion_tokens, tool_ms, started_at, finished_at";

    public async Task CreateAsync(AgentRunRecord run, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"INSERT INTO agent_runs (tenant_id, {Columns}) VALUES (@t, @id, @a, @s, @r, @in, @ans, @err, @d, @steps, @pt, @ct, @tool, @start, @end)", connection);
        Bind(command, run);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task UpdateAsync(AgentRunRecord run, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            UPDATE agent_runs SET status = @s, stop_reason = @r, answer = @ans, error = @err, steps = @steps, prompt_tokens = @pt,
                completion_tokens = @ct, tool_ms = @tool, finished_at = @end
            WHERE tenant_id = @t AND id = @id AND agent_id = @a
            """, connection);
        Bind(command, run);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task AppendStepAsync(string runId, RunTraceStep step, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("INSERT INTO agent_run_steps (run_id, seq, tenant_id, kind, data) VALUES (@id, @seq, @t, @k, @d)", connection);
        command.Parameters.AddWithValue("id", runId);
        command.Parameters.AddWithValue("seq", step.Seq);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("k", step.Kind);
        command.Parameters.AddWithValue("d", JsonSerializer.Serialize(step, AgentsJsonContext.Default.RunTraceStep));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<AgentRunRecord?> GetAsync(string agentId, string runId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM agent_runs WHERE tenant_id = @t AND agent_id = @a AND id = @id", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("a", agentId);
        command.Parameters.AddWithValue("id", runId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<RunTraceStep>> StepsAsync(string runId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT data FROM agent_run_steps WHERE tenant_id = @t AND run_id = @id ORDER BY seq", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("id", runId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var steps = new List<RunTraceStep>();
        while (await reader.ReadAsync(cancellationToken)) steps.Add(JsonSerializer.Deserialize(reader.GetString(0), AgentsJsonContext.Default.RunTraceStep)!);
        return steps;
    }

    public async Task<IReadOnlyList<AgentRunRecord>> ListAsync(string agentId, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT {Columns} FROM agent_runs WHERE tenant_id = @t AND agent_id = @a ORDER BY started_at DESC, id COLLATE \"C\" LIMIT @l", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("a", agentId);
        command.Parameters.AddWithValue("l", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var runs = new List<AgentRunRecord>();
        while (await reader.ReadAsync(cancellationToken)) runs.Add(Read(reader));
        return runs;
    }

    public async Task AddApprovalAsync(string runId, RunApproval approval, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            INSERT INTO agent_run_approvals (run_id, call_id, tenant_id, tool, arguments, requested_at) VALUES (@run, @call, @t, @tool, @args, @at)
            """, connection);
        command.Parameters.AddWithValue("run", runId);
        command.Parameters.AddWithValue("call", approval.CallId);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("tool", approval.Tool);
        command.Parameters.AddWithValue("args", approval.Arguments);
        command.Parameters.AddWithValue("at", approval.RequestedAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task DecideApprovalAsync(string runId, string callId, string decision, DateTimeOffset decidedAt, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            UPDATE agent_run_approvals SET decision = @d, decided_at = @at
            WHERE tenant_id = @t AND run_id = @run AND call_id = @call AND decision IS NULL
            """, connection);
        command.Parameters.AddWithValue("d", decision);
        command.Parameters.AddWithValue("at", decidedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("run", runId);
        command.Parameters.AddWithValue("call", callId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<RunApproval>> ApprovalsAsync(string runId, bool pendingOnly, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"""
            SELECT call_id, tool, arguments, requested_at, decision, decided_at FROM agent_run_approvals
            WHERE tenant_id = @t AND run_id = @run {(pendingOnly ? "AND decision IS NULL" : "")} ORDER BY requested_at, call_id COLLATE "C"
            """, connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("run", runId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var approvals = new List<RunApproval>();
        while (await reader.ReadAsync(cancellationToken))
        {
            approvals.Add(new RunApproval(reader.GetString(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
        }
        return approvals;
    }

    /// <summary>
    /// In a cluster, runs in progress may belong to other nodes that are alive, and a run does not yet record its node.
    /// So only runs still "running" past the longest wall time any run may have are marked: no live node can still be
    /// running them. Runs waiting for approval are left for their node (their wait does not count as wall time).
    /// </summary>
    public async Task<IReadOnlyList<AgentRunRecord>> FailUnfinishedAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var cutoff = now - TimeSpan.FromSeconds(AgentLimits.MaxWallSecondsCeiling);
        var error = "The node running this run stopped while it was in progress. A run cannot resume after a restart; start it again.";
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"""
            UPDATE agent_runs SET status = @s, stop_reason = @r, error = @err, finished_at = @end
            WHERE status = '{RunStatus.Running}' AND started_at < @cutoff
            RETURNING tenant_id, {Columns}
            """, connection);
        command.Parameters.AddWithValue("s", RunStatus.Failed);
        command.Parameters.AddWithValue("r", StopReason.Interrupted);
        command.Parameters.AddWithValue("err", error);
        command.Parameters.AddWithValue("end", now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("cutoff", cutoff.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var failed = new List<AgentRunRecord>();
        while (await reader.ReadAsync(cancellationToken)) failed.Add(Read(reader, offset: 1));
        return failed;
    }

    private static void Bind(NpgsqlCommand command, AgentRunRecord run)
    {
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("id", run.Id);
        command.Parameters.AddWithValue("a", run.AgentId);
        command.Parameters.AddWithValue("s", run.Status);
        command.Parameters.Add(PostgresValues.Text("r", run.StopReason));
        command.Parameters.AddWithValue("in", run.Input);
        command.Parameters.Add(PostgresValues.Text("ans", run.Answer));
        command.Parameters.Add(PostgresValues.Text("err", run.Error));
        command.Parameters.AddWithValue("d", JsonSerializer.Serialize(run.Definition, AgentsJsonContext.Default.AgentDefinition));
        command.Parameters.AddWithValue("steps", run.Steps);
        command.Parameters.AddWithValue("pt", run.PromptTokens);
        command.Parameters.AddWithValue("ct", run.CompletionTokens);
        command.Parameters.AddWithValue("tool", run.ToolMilliseconds);
        command.Parameters.AddWithValue("start", run.StartedAt.ToUnixTimeMilliseconds());
        command.Parameters.Add(PostgresValues.Int64("end", run.FinishedAt?.ToUnixTimeMilliseconds()));
    }

    private static AgentRunRecord Read(NpgsqlDataReader r, int offset = 0) => new()
    {
        Id = r.GetString(offset + 0),
        AgentId = r.GetString(offset + 1),
        Status = r.GetString(offset + 2),
        StopReason = r.IsDBNull(offset + 3) ? null : r.GetString(offset + 3),
        Input = r.GetString(offset + 4),
        Answer = r.IsDBNull(offset + 5) ? null : r.GetString(offset + 5),
        Error = r.IsDBNull(offset + 6) ? null : r.GetString(offset + 6),
        Definition = JsonSerializer.Deserialize(r.GetString(offset + 7), AgentsJsonContext.Default.AgentDefinition)!,
        Steps = r.GetInt32(offset + 8),
        PromptTokens = r.GetInt32(offset + 9),
        CompletionTokens = r.GetInt32(offset + 10),
        ToolMilliseconds = r.GetInt64(offset + 11),
        StartedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(offset + 12)),
        FinishedAt = r.IsDBNull(offset + 13) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(offset + 13)),
    };
}
