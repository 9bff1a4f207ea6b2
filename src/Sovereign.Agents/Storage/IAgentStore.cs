using Sovereign.Agents.Definitions;
using Sovereign.Agents.Runs;

namespace Sovereign.Agents.Storage;

/// <summary>An agent definition as stored, with its id.</summary>
public sealed record StoredAgent(string Id, AgentDefinition Definition, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>
/// Agent definitions of the tenant in <see cref="Core.Tenancy.TenantScope"/>; another tenant's agent is "not found".
/// Implementations are thread-safe.
/// </summary>
public interface IAgentStore
{
    Task<StoredAgent> CreateAsync(AgentDefinition definition, CancellationToken cancellationToken = default);
    Task<StoredAgent?> GetAsync(string id, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<StoredAgent>> ListAsync(CancellationToken cancellationToken = default);
    Task<StoredAgent?> UpdateAsync(string id, AgentDefinition definition, CancellationToken cancellationToken = default);
    /// <summary>Deletes the agent and its runs; false when there was none.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);
}

/// <summary>
/// Runs and their traces, for the tenant in scope. Each step is written as it finishes, so a run's trace is readable
/// while it runs and survives a crash of the server. Implementations are thread-safe.
/// </summary>
public interface IAgentRunStore
{
    Task CreateAsync(AgentRunRecord run, CancellationToken cancellationToken = default);
    Task UpdateAsync(AgentRunRecord run, CancellationToken cancellationToken = default);
    Task AppendStepAsync(string runId, RunTraceStep step, CancellationToken cancellationToken = default);
    Task<AgentRunRecord?> GetAsync(string agentId, string runId, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<RunTraceStep>> StepsAsync(string runId, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<AgentRunRecord>> ListAsync(string agentId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Records a tool call that waits for a person, before the run says it waits.</summary>
    Task AddApprovalAsync(string runId, RunApproval approval, CancellationToken cancellationToken = default);

    /// <summary>Records what became of a waiting call: approved, rejected, expired or interrupted.</summary>
    Task DecideApprovalAsync(string runId, string callId, string decision, DateTimeOffset decidedAt, CancellationToken cancellationToken = default);

    /// <summary>The run's calls, in the order they were asked for; <paramref name="pendingOnly"/> keeps those still undecided.</summary>
    Task<IReadOnlyList<RunApproval>> ApprovalsAsync(string runId, bool pendingOnly, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks every run of every tenant that is still running or waiting for approval as failed (stop reason
    /// <see cref="StopReason.Interrupted"/>), and their undecided calls as interrupted. Called at start-up, when no run
    /// of this server can be in progress: such runs were cut off by a crash or a stop. Returns the runs it marked.
    /// </summary>
    Task<IReadOnlyList<AgentRunRecord>> FailUnfinishedAsync(DateTimeOffset now, CancellationToken cancellationToken = default);
}

/// <summary>A tool call that needed a person's approval; <see cref="Decision"/> is null while it waits. Immutable.</summary>
public sealed record RunApproval(string CallId, string Tool, string Arguments, DateTimeOffset RequestedAt, string? Decision = null, DateTimeOffset? DecidedAt = null)
{
    public const string Approved = "approved";
    public const string Rejected = "rejected";
    /// <summary>No one decided within the approval timeout.</summary>
    public const string Expired = "expired";
    /// <summary>The server stopped or crashed while the call waited.</summary>
    public const string Interrupted = "interrupted";
}
