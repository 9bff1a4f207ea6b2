using System.Net.Sockets;

namespace Sovereign.Inference.Runner;

/// <summary>
/// Notices when the server closes a generation connection (its client went away) and cancels that request. One thread
/// polls every watched connection; it also disposes them once their request is done.
/// <para>
/// Why not a pending ReceiveAsync per connection: an async operation registers the socket with .NET's epoll loop, for
/// writes too, and then every read the server makes frees buffer space that wakes the runner's socket thread and a
/// pool worker for nothing: about one such pair per token, measured. A socket that only ever sees synchronous calls
/// (the loop's non-blocking sends, this poll) never wakes anyone.
/// </para>
/// </summary>
internal sealed class ClosedConnectionWatch : IDisposable
{
    // How long a close can go unnoticed while nothing is sent; a send to a closed connection cancels at once
    // (SocketEventWriter's onBroken).
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(200);

    private readonly Lock _gate = new();
    private readonly Dictionary<Socket, Watched> _watched = [];
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private volatile bool _stopping;

    public ClosedConnectionWatch()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "sovereign-gen-watch" };
        _thread.Start();
    }

    /// <summary>Watches <paramref name="connection"/> until <paramref name="done"/> completes, then disposes it.</summary>
    public void Watch(Socket connection, Task done, Action onClosed)
    {
        lock (_gate) _watched[connection] = new Watched(done, onClosed);
        _wake.Release();
        // A connection already found closed is no longer polled; its end wakes the thread to dispose it.
        done.ContinueWith(static (_, wake) => ((SemaphoreSlim)wake!).Release(), _wake, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void Run()
    {
        var open = new List<Socket>();
        while (!_stopping)
        {
            List<KeyValuePair<Socket, Watched>> snapshot;
            lock (_gate) snapshot = [.. _watched];

            // :: Connections whose request is done are let go (closing them is the end of the answer).
            open.Clear();
            foreach (var (socket, watched) in snapshot)
            {
                if (watched.Done.IsCompleted) Forget(socket);
                else if (!watched.Closed) open.Add(socket);
            }
            if (open.Count == 0)
            {
                _wake.Wait();
                continue;
            }

            // :: The rest: readable means closed, since the server writes nothing after its request.
            try
            {
                Socket.Select(open, null, null, s_pollInterval);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                continue;
            }
            foreach (var socket in open)
            {
                Watched? watched;
                lock (_gate) _watched.TryGetValue(socket, out watched);
                if (watched is null || watched.Closed) continue;
                watched.Closed = true;
                try
                {
                    watched.OnClosed();
                }
                catch (ObjectDisposedException)
                {
                    // The request ended meanwhile.
                }
            }
        }
    }

    private void Forget(Socket socket)
    {
        lock (_gate) _watched.Remove(socket);
        socket.Dispose();
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Release();
        _thread.Join(TimeSpan.FromSeconds(2));
        lock (_gate)
        {
            foreach (var socket in _watched.Keys) socket.Dispose();
            _watched.Clear();
        }
    }

    private sealed class Watched(Task done, Action onClosed)
    {
        public Task Done { get; } = done;
        public Action OnClosed { get; } = onClosed;
        public bool Closed { get; set; }
    }
}
