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
}
