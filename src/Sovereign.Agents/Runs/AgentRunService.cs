using System.Collections.Concurrent;
using Sovereign.Agents.Storage;
using Sovereign.Core.Tenancy;

namespace Sovereign.Agents.Runs;

/// <summary>A run in progress: its events, its pending approvals, and the means to cancel it.</summary>
public sealed class LiveRun(string id, string tenantId, string agentId, RunEventLog events, ApprovalGate approvals, CancellationTokenSource cancellation)
{
    public string Id { get; } = id;
    public string TenantId { get; } = tenantId;
    public string AgentId { get; } = agentId;
    public RunEventLog Events { get; } = events;
    public ApprovalGate Approvals { get; } = approvals;
    public Task Completion { get; internal set; } = Task.CompletedTask;

    public void Cancel() => cancellation.Cancel();
}

/// <summary>
/// Starts runs in the background, in their agent's tenant, independent of the request that started them: a client that
/// disconnects does not stop a run (its limits do), and approvals arrive through other requests. Knows the runs in
/// progress on this node. Thread-safe; disposing (the server stopping) interrupts every run in progress.
/// </summary>
public sealed class AgentRunService(AgentRunner runner, IAgentRunStore runs, TimeProvider time) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, LiveRun> _live = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Records the run (status running) and starts it; the returned run's events begin with run_started.</summary>
    public async Task<LiveRun> StartAsync(StoredAgent agent, string input, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var record = new AgentRunRecord
        {
            Id = Ids.New("run_"),
            AgentId = agent.Id,
            Status = RunStatus.Running,
            Input = input,
            Definition = agent.Definition,
            StartedAt = time.GetUtcNow(),
        };
        await runs.CreateAsync(record, cancellationToken);

        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        var live = new LiveRun(record.Id, tenant, agent.Id, new RunEventLog(), new ApprovalGate(), cancellation);
        _live[record.Id] = live;
        live.Completion = Task.Run(async () =>
        {
            try
            {
                using (TenantScope.Enter(tenant)) await runner.RunAsync(record, live.Events, live.Approvals, cancellation.Token, _stopping.Token);
            }
            finally
            {
                _live.TryRemove(record.Id, out _);
                cancellation.Dispose();
            }
        }, CancellationToken.None);
        return live;
    }

    /// <summary>The run in progress with that id, of the tenant in scope and that agent; null otherwise.</summary>
    public LiveRun? Find(string agentId, string runId) =>
        _live.TryGetValue(runId, out var live) && live.TenantId == TenantScope.Require() && live.AgentId == agentId ? live : null;

    /// <summary>Whether the agent (of the tenant in scope) has a run in progress.</summary>
    public bool HasLiveRuns(string agentId)
    {
        var tenant = TenantScope.Require();
        return _live.Values.Any(r => r.TenantId == tenant && r.AgentId == agentId);
    }

    /// <summary>The server is stopping: every run in progress ends failed (interrupted), recorded before this returns (10 s at most).</summary>
    public async ValueTask DisposeAsync()
    {
        var live = _live.Values.ToList();
        await _stopping.CancelAsync();
        await Task.WhenAll(live.Select(r => r.Completion)).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stopping.Dispose();
    }
}
