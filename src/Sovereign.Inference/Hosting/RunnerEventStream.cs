using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using Sovereign.Inference.Protocol;
using Sovereign.Inference.Runner;

namespace Sovereign.Inference.Hosting;

/// <summary>
/// The server's end of one generation on a runner's generation socket (see runner.proto). Disposing it closes the
/// connection, which cancels the request in the runner.
/// </summary>
/// <remarks>
/// Events that have not arrived yet are read by a thread of the stream's own, with blocking reads, and the reader's
/// continuation (the SSE writer, down to Kestrel's send) runs on that thread. An asynchronous read would cost each token
/// a wake of the socket engine's thread, of a pool worker that receives and, for the pool's parallelism, of a second
/// worker that finds nothing to do (strace on 2 cores: five wakes and 14 futex calls per streamed token, against one
/// here); on a machine whose cores all decode, each is taken from decoding. One thread per open generation is bounded
/// by the runners' slots and queues; it sleeps in the kernel while the runner computes.
/// </remarks>
internal sealed class RunnerEventStream : IDisposable, IValueTaskSource<bool>
{
    private readonly Socket _socket;
    private readonly FrameReader _reader;
    private readonly string _socketPath;
    private readonly byte[] _request;
    private readonly object _gate = new(); // Monitor.Wait: System.Threading.Lock has no wait
    private ManualResetValueTaskSourceCore<bool> _read; // RunContinuationsAsynchronously stays false: see remarks
    private Thread? _thread;
    private bool _readWanted, _disposed, _ended;
    private CancellationTokenRegistration _cancellation;

    private RunnerEventStream(string socketPath, byte[] request)
    {
        // Blocking throughout: a socket that never sees an asynchronous call is never registered with the socket engine,
        // whose thread would otherwise wake for every read.
        _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _reader = new FrameReader(_socket);
        _socketPath = socketPath;
        _request = request;
    }

    public GenerateEvent Current { get; private set; } = new();

    /// <summary>
    /// A stream for <paramref name="request"/>. Nothing is sent yet: the first <see cref="MoveNext"/> connects, sends the
    /// request and reads the runner's answer, so a runner that is gone fails there.
    /// </summary>
    public static RunnerEventStream Open(string socketPath, GenerateRequest request) => new(socketPath, Frames.Of(request));

    /// <summary>
    /// Reads the next event into <see cref="Current"/>; false when the runner closed the connection. Completes
    /// synchronously when the event has already arrived, so a caller can take what is waiting without waiting. One
    /// call at a time: await each before the next. Cancelling <paramref name="cancellationToken"/> closes the
    /// connection, so the read under way fails.
    /// </summary>
    public ValueTask<bool> MoveNext(CancellationToken cancellationToken)
    {
        if (_reader.TryReadBuffered(GenerateEvent.Parser, out var next))
        {
            Current = next;
            return ValueTask.FromResult(true);
        }
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_ended) return ValueTask.FromResult(false);
            _read.Reset();
            _readWanted = true;
            if (_thread is null)
            {
                if (cancellationToken.CanBeCanceled) _cancellation = cancellationToken.UnsafeRegister(static s => ((RunnerEventStream)s!).Dispose(), this);
                _thread = new Thread(ReadLoop) { IsBackground = true, Name = "runner-events" };
                _thread.Start();
            }
            else
            {
                Monitor.Pulse(_gate);
            }
            return new ValueTask<bool>(this, _read.Version);
        }
    }

    /// <summary>
    /// Connects and sends the request, then reads one event each time one is wanted, until the connection ends or the
    /// stream is disposed.
    /// </summary>
    private void ReadLoop()
    {
        var connected = false;
        while (true)
        {
            lock (_gate)
            {
                while (!_readWanted && !_disposed) Monitor.Wait(_gate);
                if (!_readWanted) return;
                _readWanted = false;
            }
            bool moved;
            try
            {
                if (!connected)
                {
                    _socket.Connect(new UnixDomainSocketEndPoint(_socketPath));
                    // Never a half-close after this: the runner takes the end of the connection for a cancellation.
                    Frames.Send(_socket, _request);
                    connected = true;
                }
                var next = _reader.Read(GenerateEvent.Parser);
                moved = next is not null;
                if (next is not null) Current = next;
            }
            catch (Exception e)
            {
                End();
                _read.SetException(e);
                return;
            }
            if (!moved) End();
            // The consumer's continuation runs here, and usually asks for the next event before it returns.
            _read.SetResult(moved);
            if (!moved) return;
        }
    }

    private void End()
    {
        lock (_gate) _ended = true;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    /// <summary>Closes the connection; a read under way fails, and the reading thread ends.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
        _socket.Dispose();
        _cancellation.Dispose();
    }
}
