using Sovereign.Agents.Storage;

namespace Sovereign.Agents.Runs;

/// <summary>
/// Where a run that belongs to no stored agent is written: a chat through an app with tools. It keeps one run's record,
/// trace and approvals in memory for as long as the response that reads them, since such a run has no agent row to
/// hang from and its trace goes back to the client in the response itself. Thread-safe; one instance per run.
/// </summary>
public sealed class TransientRunStore : IAgentRunStore
{
    private readonly Lock _lock = new();
    private readonly List<RunTraceStep> _steps = [];
    private readonly List<RunApproval> _approvals = [];
    private AgentRunRecord? _record;

    /// <summary>The run as last written; null before it was created.</summary>
    public AgentRunRecord? Record
    {
        get
        {
            lock (_lock) return _record;
        }
    }

    /// <summary>The trace so far, in order.</summary>
    public IReadOnlyList<RunTraceStep> Steps
    {
        get
        {
            lock (_lock) return [.. _steps];
        }
    }

    public Task CreateAsync(AgentRunRecord run, CancellationToken cancellationToken = default) => UpdateAsync(run, cancellationToken);

    public Task UpdateAsync(AgentRunRecord run, CancellationToken cancellationToken = default)
    {
        lock (_lock) _record = run;
        return Task.CompletedTask;
    }

    public Task AppendStepAsync(string runId, RunTraceStep step, CancellationToken cancellationToken = default)
    {
        lock (_lock) _steps.Add(step);
        return Task.CompletedTask;
    }

    public Task<AgentRunRecord?> GetAsync(string agentId, string runId, CancellationToken cancellationToken = default)
    {
        lock (_lock) return Task.FromResult(_record is { } r && r.Id == runId && r.AgentId == agentId ? r : null);
    }

    public Task<IReadOnlyList<RunTraceStep>> StepsAsync(string runId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_record?.Id == runId ? Steps : []);

    public Task<IReadOnlyList<AgentRunRecord>> ListAsync(string agentId, int limit, CancellationToken cancellationToken = default)
    {
        lock (_lock) return Task.FromResult<IReadOnlyList<AgentRunRecord>>(_record is { } r && r.AgentId == agentId && limit > 0 ? [r] : []);
    }

    public Task AddApprovalAsync(string runId, RunApproval approval, CancellationToken cancellationToken = default)
    {
        lock (_lock) _approvals.Add(approval);
        return Task.CompletedTask;
    }

    public Task DecideApprovalAsync(string runId, string callId, string decision, DateTimeOffset decidedAt, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var i = _approvals.FindIndex(a => a.CallId == callId && a.Decision is null);
            if (i >= 0) _approvals[i] = _approvals[i] with { Decision = decision, DecidedAt = decidedAt };
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<RunApproval>> ApprovalsAsync(string runId, bool pendingOnly, CancellationToken cancellationToken = default)
    {
        lock (_lock) return Task.FromResult<IReadOnlyList<RunApproval>>([.. _approvals.Where(a => !pendingOnly || a.Decision is null)]);
    }

    /// <summary>Nothing outlives a process here, so nothing can be left unfinished by a restart.</summary>
    public Task<IReadOnlyList<AgentRunRecord>> FailUnfinishedAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<AgentRunRecord>>([]);
}
