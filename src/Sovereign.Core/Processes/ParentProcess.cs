using System.Runtime.InteropServices;

namespace Sovereign.Core.Processes;

/// <summary>
/// Notices that the process which started this one is gone, so a child (a model runner, or a server a tool started)
/// ends with it instead of living on as an orphan that holds memory, ports and model files.
/// </summary>
public static class ParentProcess
{
    /// <summary>
    /// Completes once this process's parent is no longer <paramref name="parentId"/>; never when
    /// <paramref name="parentId"/> is 0 or less. Throws <see cref="OperationCanceledException"/> when
    /// <paramref name="cancellationToken"/> is cancelled first.
    /// </summary>
    public static async Task WaitUntilGoneAsync(int parentId, CancellationToken cancellationToken)
    {
        if (parentId <= 0)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            return;
        }
        // Polling the parent id rather than waiting on the parent's process: a process cannot wait on one that is not
        // its child, and a parent-death signal would fire when the thread that happened to start us ends, not when the
        // parent does. When the parent dies we are re-parented, even while the dead parent lingers as a zombie.
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        while (getppid() == parentId)
            await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
    }

    [DllImport("libc", SetLastError = false)]
    private static extern int getppid();
}
