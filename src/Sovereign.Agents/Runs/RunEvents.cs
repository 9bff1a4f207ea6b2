using System.Text.Json.Nodes;

namespace Sovereign.Agents.Runs;

/// <summary>
/// One event of a run's stream, as the API sends it over SSE (<c>event: {Type}</c>, <c>data: {Data}</c>). Types:
/// run_started, step_started, delta, tool_call, approval_required, approval_decided, tool_result, final_answer,
/// limit_reached, error and run_finished (always last). Immutable.
/// </summary>
public sealed record RunEvent(string Type, JsonObject Data)
{
    public const string RunStarted = "run_started";
    public const string StepStarted = "step_started";
    public const string Delta = "delta";
    public const string ToolCall = "tool_call";
    public const string ApprovalRequired = "approval_required";
    public const string ApprovalDecided = "approval_decided";
    public const string ToolResult = "tool_result";
    public const string FinalAnswer = "final_answer";
    public const string LimitReached = "limit_reached";
    public const string Error = "error";
    public const string RunFinished = "run_finished";
}

/// <summary>
/// Every event of one run, kept in order so a reader that arrives late (or reconnects) sees all of them; readers wait
/// for more until the run has finished. Thread-safe: one writer (the run), any number of readers.
/// </summary>
public sealed class RunEventLog
{
    private readonly List<RunEvent> _events = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _completed;

    public void Add(RunEvent e)
    {
        TaskCompletionSource changed;
        lock (_events)
        {
            if (_completed) throw new InvalidOperationException("The run's event log is complete.");
            _events.Add(e);
            if (e.Type == RunEvent.RunFinished) _completed = true;
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    public async IAsyncEnumerable<RunEvent> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var next = 0;
        while (true)
        {
            RunEvent[] batch;
            bool completed;
            Task changed;
            lock (_events)
            {
                batch = [.. _events.Skip(next)];
                completed = _completed;
                changed = _changed.Task;
            }
            next += batch.Length;
            foreach (var e in batch) yield return e;
            if (completed) yield break;
            await changed.WaitAsync(cancellationToken);
        }
    }

    public IReadOnlyList<RunEvent> Snapshot()
    {
        lock (_events) return [.. _events];
    }
}
