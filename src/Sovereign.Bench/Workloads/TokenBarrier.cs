namespace Sovereign.Bench.Workloads;

/// <summary>Completes once every one of <c>streams</c> streams has produced <c>threshold</c> pieces of text. Thread-safe.</summary>
internal sealed class TokenBarrier(int streams, int threshold)
{
    private readonly int[] _counts = new int[streams];
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _done;

    public Task Reached => _reached.Task;

    public void Count(int stream)
    {
        if (Interlocked.Increment(ref _counts[stream]) == threshold && Interlocked.Increment(ref _done) == streams)
            _reached.TrySetResult();
    }
}
