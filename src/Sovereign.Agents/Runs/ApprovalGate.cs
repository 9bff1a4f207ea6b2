namespace Sovereign.Agents.Runs;

/// <summary>
/// The tool calls of one run that wait for a person. The run awaits <see cref="WaitAsync"/>; the approvals API calls
/// <see cref="Decide"/>. Thread-safe.
/// </summary>
public sealed class ApprovalGate
{
    private readonly Dictionary<string, TaskCompletionSource<bool>> _pending = new(StringComparer.Ordinal);

    /// <summary>True when approved, false when rejected.</summary>
    public Task<bool> WaitAsync(string callId, CancellationToken cancellationToken)
    {
        TaskCompletionSource<bool> waiter;
        lock (_pending)
        {
            if (!_pending.TryGetValue(callId, out waiter!))
            {
                waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending[callId] = waiter;
            }
        }
        return waiter.Task.WaitAsync(cancellationToken);
    }

    /// <summary>False when no call with that id is waiting (unknown, or already decided).</summary>
    public bool Decide(string callId, bool approved)
    {
        TaskCompletionSource<bool>? waiter;
        lock (_pending)
        {
            if (!_pending.Remove(callId, out waiter)) return false;
        }
        return waiter.TrySetResult(approved);
    }

    public bool IsWaiting(string callId)
    {
        lock (_pending) return _pending.ContainsKey(callId);
    }
}
