using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sovereign.Agents.Definitions;
using Sovereign.Agents.Runs;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Agents.Storage;

/// <summary>Agents in SQLite (the "agents" schema module), filtered by the tenant in scope. Thread-safe.</summary>
internal sealed class SqliteAgentStore(SqliteDatabase database, TimeProvider time) : IAgentStore
{
    public Task<StoredAgent> CreateAsync(AgentDefinition definition, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var now = time.GetUtcNow();
        var agent = new StoredAgent(Ids.New("agt_"), definition, now, now);
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO agents (id, tenant_id, name, definition, created_at, updated_at) VALUES ($id, $t, $n, $d, $c, $c);";
        command.Parameters.AddWithValue("$id", agent.Id);
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$n", definition.Name);
        command.Parameters.AddWithValue("$d", JsonSerializer.Serialize(definition, AgentsJsonContext.Default.AgentDefinition));
        command.Parameters.AddWithValue("$c", now.ToUnixTimeMilliseconds());
        command.ExecuteNonQuery();
        return Task.FromResult(agent);
    }

    public Task<StoredAgent?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, definition, created_at, updated_at FROM agents WHERE tenant_id = $t AND id = $id;";
        command.Parameters.AddWithValue("$t", TenantScope.Require());
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        return Task.FromResult(reader.Read() ? Read(reader) : null);
    }

    public Task<IReadOnlyList<StoredAgent>> ListAsync(CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, definition, created_at, updated_at FROM agents WHERE tenant_id = $t ORDER BY created_at, id;";
        command.Parameters.AddWithValue("$t", TenantScope.Require());
        using var reader = command.ExecuteReader();
        var agents = new List<StoredAgent>();
        while (reader.Read()) agents.Add(Read(reader));
        return Task.FromResult<IReadOnlyList<StoredAgent>>(agents);
    }

    public async Task<StoredAgent?> UpdateAsync(string id, AgentDefinition definition, CancellationToken cancellationToken = default)
    {
        using (var connection = database.Open())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "UPDATE agents SET name = $n, definition = $d, updated_at = $u WHERE tenant_id = $t AND id = $id;";
            command.Parameters.AddWithValue("$t", TenantScope.Require());
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$n", definition.Name);
            command.Parameters.AddWithValue("$d", JsonSerializer.Serialize(definition, AgentsJsonContext.Default.AgentDefinition));
            command.Parameters.AddWithValue("$u", time.GetUtcNow().ToUnixTimeMilliseconds());
            if (command.ExecuteNonQuery() == 0) return null;
        }
        return await GetAsync(id, cancellationToken);
    }

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM agents WHERE tenant_id = $t AND id = $id;";
        command.Parameters.AddWithValue("$t", TenantScope.Require());
        command.Parameters.AddWithValue("$id", id);
        return Task.FromResult(command.ExecuteNonQuery() > 0);
    }

    private static StoredAgent Read(SqliteDataReader reader) => new(
        reader.GetString(0),
        JsonSerializer.Deserialize(reader.GetString(1), AgentsJsonContext.Default.AgentDefinition)!,
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
}

/// <summary>Runs and trace steps in SQLite, filtered by the tenant in scope. Thread-safe.</summary>
internal sealed class SqliteAgentRunStore(SqliteDatabase database) : IAgentRunStore
{
    private const string Columns = "id, agent_id, status, stop_reason, input, answer, error, definition, steps, prompt_tokens, completion_tokens, tool_ms, started_at, finished_at";

    public Task CreateAsync(AgentRunRecord run, CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO agent_runs (tenant_id, {Columns}) VALUES ($t, $id, $a, $s, $r, $in, $ans, $err, $d, $steps, $pt, $ct, $tool, $start, $end);";
        Bind(command, run);
        command.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    public Task UpdateAsync(AgentRunRecord run, CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE agent_runs SET status = $s, stop_reason = $r, answer = $ans, error = $err, steps = $steps, prompt_tokens = $pt,
                completion_tokens = $ct, tool_ms = $tool, finished_at = $end
            WHERE tenant_id = $t AND id = $id AND agent_id = $a;
            """;
        Bind(command, run);
        command.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    public Task AppendStepAsync(string runId, RunTraceStep step, CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO agent_run_steps (run_id, seq, tenant_id, kind, data) VALUES ($id, $seq, $t, $k, $d);";
        command.Parameters.AddWithValue("$id", runId);
        command.Parameters.AddWithValue("$seq", step.Seq);
        command.Parameters.AddWithValue("$t", TenantScope.Require());
        command.Parameters.AddWithValue("$k", step.Kind);
        command.Parameters.AddWithValue("$d", JsonSerializer.Serialize(step, AgentsJsonContext.Default.RunTraceStep));
        command.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    public Task<AgentRunRecord?> GetAsync(string agentId, string runId, CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM agent_runs WHERE tenant_id = $t AND agent_id = $a AND id = $id;";
        command.Parameters.AddWithValue("$t", TenantScope.Require());
        command.Parameters.AddWithValue("$a", agentId);
        command.Parameters.AddWithValue("$id", runId);
        using var reader = command.ExecuteReader();
        return Task.FromResult(reader.Read() ? Read(reader) : null);
    }

    public Task<IReadOnlyList<RunTraceStep>> StepsAsync(string runId, CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT data FROM agent_run_steps WHERE tenant_id = $t AND run_id = $id ORDER BY seq;";
        command.Parameters.AddWithValue("$t", TenantScope.Require());
        command.Parameters.AddWithValue("$id", runId);
        using var reader = command.ExecuteReader();
        var steps = new List<RunTraceStep>();
        while (reader.Read()) steps.Add(JsonSerializer.Deserialize(reader.GetString(0), AgentsJsonContext.Default.RunTraceStep)!);
        return Task.FromResult<IReadOnlyList<RunTraceStep>>(steps);
    }

    public Task<IReadOnlyList<AgentRunRecord>> ListAsync(string agentId, int limit, CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM agent_runs WHERE tenant_id = $t AND agent_id = $a ORDER BY started_at DESC, id LIMIT $l;";
        command.Parameters.AddWithValue("$t", TenantScope.Require());
        command.Parameters.AddWithValue("$a", agentId);
        command.Parameters.AddWithValue("$l", limit);
        using var reader = command.ExecuteReader();
        var runs = new List<AgentRunRecord>();
        while (reader.Read()) runs.Add(Read(reader));
        return Task.FromResult<IReadOnlyList<AgentRunRecord>>(runs);
    }

    public Task AddApprovalAsync(string runId, RunApproval approval, CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO agent_run_approvals (run_id, call_id, tenant_id, tool, arguments, requested_at)
            VALUES ($run, $call, $t, $tool, $args, $at);
            """;
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$call", approval.CallId);
        command.Parameters.AddWithValue("$t", TenantScope.Require());
        command.Parameters.AddWithValue("$tool", approval.Tool);
        command.Parameters.AddWithValue("$args", approval.Arguments);
        command.Parameters.AddWithValue("$at", approval.RequestedAt.ToUnixTimeMilliseconds());
        command.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    public Task DecideApprovalAsync(string runId, string callId, string decision, DateTimeOffset decidedAt, CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE agent_run_approvals SET decision = $d, decided_at = $at
            WHERE tenant_id = $t AND run_id = $run AND call_id = $call AND decision IS NULL;
            """;
        command.Parameters.AddWithValue("$d", decision);
        command.Parameters.AddWithValue("$at", decidedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$t", TenantScope.Require());
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$call", callId);
        command.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<RunApproval>> ApprovalsAsync(string runId, bool pendingOnly, CancellationToken cancellationToken = default)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT call_id, tool, arguments, requested_at, decision, decided_at FROM agent_run_approvals
            WHERE tenant_id = $t AND run_id = $run {(pendingOnly ? "AND decision IS NULL" : "")} ORDER BY requested_at, call_id;
            """;
        command.Parameters.AddWithValue("$t", TenantScope.Require());
        command.Parameters.AddWithValue("$run", runId);
        using var reader = command.ExecuteReader();
        var approvals = new List<RunApproval>();
        while (reader.Read())
        {
            approvals.Add(new RunApproval(reader.GetString(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
        }
        return Task.FromResult<IReadOnlyList<RunApproval>>(approvals);
    }

    public Task<IReadOnlyList<AgentRunRecord>> FailUnfinishedAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        // Across tenants on purpose: this is the server's own start-up check, not a tenant's request.
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction();
        var unfinished = new List<(AgentRunRecord Run, string? Tool, string? CallId)>();
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = $"""
                SELECT {string.Join(", ", Columns.Split(", ").Select(c => "r." + c))}, a.tool, a.call_id FROM agent_runs r
                LEFT JOIN agent_run_approvals a ON a.run_id = r.id AND a.decision IS NULL
                WHERE r.status IN ('{RunStatus.Running}', '{RunStatus.AwaitingApproval}') ORDER BY r.started_at, r.id;
                """;
            using var reader = select.ExecuteReader();
            while (reader.Read()) unfinished.Add((Read(reader), reader.IsDBNull(14) ? null : reader.GetString(14), reader.IsDBNull(15) ? null : reader.GetString(15)));
        }
        var failed = new List<AgentRunRecord>();
        foreach (var group in unfinished.GroupBy(u => u.Run.Id))
        {
            var run = group.First().Run;
            var waiting = group.Where(g => g.CallId is not null).Select(g => $"'{g.Tool}' (call {g.CallId})").ToList();
            var error = waiting.Count > 0
                ? $"The server stopped while the run waited for approval of {string.Join(", ", waiting)}. A run cannot resume after a restart; start it again."
                : $"The server stopped while the run was in progress (after {run.Steps} step(s)). A run cannot resume after a restart; start it again.";
            var marked = run with { Status = RunStatus.Failed, StopReason = StopReason.Interrupted, Error = error, FinishedAt = now };
            using var update = connection.CreateCommand();
            update.Transaction = transaction;
            update.CommandText = """
                UPDATE agent_runs SET status = $s, stop_reason = $r, error = $err, finished_at = $end WHERE id = $id;
                UPDATE agent_run_approvals SET decision = $d, decided_at = $end WHERE run_id = $id AND decision IS NULL;
                """;
            update.Parameters.AddWithValue("$s", marked.Status);
            update.Parameters.AddWithValue("$r", marked.StopReason);
            update.Parameters.AddWithValue("$err", error);
            update.Parameters.AddWithValue("$end", now.ToUnixTimeMilliseconds());
            update.Parameters.AddWithValue("$id", run.Id);
            update.Parameters.AddWithValue("$d", RunApproval.Interrupted);
            update.ExecuteNonQuery();
            failed.Add(marked);
        }
        transaction.Commit();
        return Task.FromResult<IReadOnlyList<AgentRunRecord>>(failed);
    }

    private static void Bind(SqliteCommand command, AgentRunRecord run)
    {
        command.Parameters.AddWithValue("$t", TenantScope.Require());
        command.Parameters.AddWithValue("$id", run.Id);
        command.Parameters.AddWithValue("$a", run.AgentId);
        command.Parameters.AddWithValue("$s", run.Status);
        command.Parameters.AddWithValue("$r", (object?)run.StopReason ?? DBNull.Value);
        command.Parameters.AddWithValue("$in", run.Input);
        command.Parameters.AddWithValue("$ans", (object?)run.Answer ?? DBNull.Value);
        command.Parameters.AddWithValue("$err", (object?)run.Error ?? DBNull.Value);
        command.Parameters.AddWithValue("$d", JsonSerializer.Serialize(run.Definition, AgentsJsonContext.Default.AgentDefinition));
        command.Parameters.AddWithValue("$steps", run.Steps);
        command.Parameters.AddWithValue("$pt", run.PromptTokens);
        command.Parameters.AddWithValue("$ct", run.CompletionTokens);
        command.Parameters.AddWithValue("$tool", run.ToolMilliseconds);
        command.Parameters.AddWithValue("$start", run.StartedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$end", (object?)run.FinishedAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
    }

    private static AgentRunRecord Read(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        AgentId = r.GetString(1),
        Status = r.GetString(2),
        StopReason = r.IsDBNull(3) ? null : r.GetString(3),
        Input = r.GetString(4),
        Answer = r.IsDBNull(5) ? null : r.GetString(5),
        Error = r.IsDBNull(6) ? null : r.GetString(6),
        Definition = JsonSerializer.Deserialize(r.GetString(7), AgentsJsonContext.Default.AgentDefinition)!,
        Steps = r.GetInt32(8),
        PromptTokens = r.GetInt32(9),
        CompletionTokens = r.GetInt32(10),
        ToolMilliseconds = r.GetInt64(11),
        StartedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(12)),
        FinishedAt = r.IsDBNull(13) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(13)),
    };
}

/// <summary>Opaque random ids with a type prefix (agt_…, run_…, call_…).</summary>
public static class Ids
{
    public static string New(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}
