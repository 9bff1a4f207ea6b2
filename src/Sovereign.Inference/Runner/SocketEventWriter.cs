using System.Diagnostics;
using System.Net.Sockets;
using System.Threading.Channels;
using Google.Protobuf;
using Sovereign.Core.Generation;
using Sovereign.Inference.Engine;
using Sovereign.Inference.Protocol;

namespace Sovereign.Inference.Runner;

/// <summary>
/// The output of one request on the runner's generation socket. The engine loop writes each event here on its own
/// thread and it goes out at once, with a non-blocking send: no thread hop in the runner between a sampled token and
/// the server. Only when the socket's buffer is full (the server reads slowly) do frames wait here for a background
/// send, so the loop never blocks on one client.
/// <para>
/// Text that comes less than <see cref="HoldTime"/> after the last send waits for the next event instead: a model that
/// makes thousands of tokens a second (stories260K: one every 0.15 ms on 2 cores) would otherwise pay a send and a
/// wake-up of the server's reading thread for each, which is most of what serving costs it. A held piece goes out with
/// the next event of its request, or when the loop calls <see cref="FlushHeld"/> before a step that may be slow (one
/// that admits or prefills); every other event, and completion, sends at once. A model slower than that never waits.
/// </para>
/// </summary>
internal sealed class SocketEventWriter : ChannelWriter<GenerationEvent>, IHeldOutput
{
    /// <summary>How close together text must come to go out together; far below what a person or a client can see.</summary>
    public static readonly TimeSpan HoldTime = TimeSpan.FromMilliseconds(1);
    private readonly long _holdTicks;

    private readonly Socket _socket;
    private readonly Action? _onBroken;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _flushed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[] _buffer = new byte[512];
    // Bytes [_start, _end) of _buffer are written and not yet sent.
    private int _start;
    private int _end;
    // Held until Open: the frames written before then go out after the Accepted frame.
    private bool _open;
    private bool _draining;
    private bool _completed;
    private bool _broken;
    // Written text waits for the next send (see the class summary); _lastSent is a Stopwatch timestamp.
    private bool _held;
    private long _lastSent;

    /// <param name="socket">Set to non-blocking here; the writer sends on it, others may still receive.</param>
    /// <param name="onBroken">Called once, outside the writer's lock, when a send finds the server gone.</param>
    /// <param name="holdTime"><see cref="HoldTime"/> unless a test says otherwise; zero holds nothing.</param>
    public SocketEventWriter(Socket socket, Action? onBroken = null, TimeSpan? holdTime = null)
    {
        _socket = socket;
        _onBroken = onBroken;
        _holdTicks = (long)((holdTime ?? HoldTime).TotalSeconds * Stopwatch.Frequency);
        _socket.Blocking = false;
        Frames.Append(new GenerateEvent { Accepted = new Accepted() }, ref _buffer, ref _end);
    }

    /// <summary>Completes once the writer is complete and every frame has been sent, or the socket failed.</summary>
    public Task Flushed => _flushed.Task;

    /// <summary>Starts sending: Accepted, then the events the loop has written so far. Call once the engine accepted the request.</summary>
    public void Open()
    {
        bool broke;
        lock (_gate)
        {
            _open = true;
            broke = SendLocked();
        }
        if (broke) _onBroken?.Invoke();
    }

    public override bool TryWrite(GenerationEvent item) => TryWrite(RunnerProtocol.ToProto(item), holdable: item is GenerationEvent.TextDelta);

    private bool TryWrite(IMessage message, bool holdable)
    {
        bool broke;
        lock (_gate)
        {
            if (_completed || _broken) return false;
            Frames.Append(message, ref _buffer, ref _end);
            if (!_open || _draining)
            {
                broke = false;
            }
            else if (holdable && Stopwatch.GetTimestamp() - _lastSent < _holdTicks)
            {
                _held = true;
                broke = false;
            }
            else
            {
                broke = SendLocked();
            }
        }
        if (broke) _onBroken?.Invoke();
        return !broke;
    }

    /// <summary>Sends text held back (see the class summary), if any.</summary>
    public void FlushHeld()
    {
        bool broke;
        lock (_gate)
        {
            if (!_held || !_open || _draining || _broken) return;
            broke = SendLocked();
        }
        if (broke) _onBroken?.Invoke();
    }

    public override bool TryComplete(Exception? error = null)
    {
        bool broke = false;
        lock (_gate)
        {
            if (_completed) return false;
            _completed = true;
            if (_open && !_draining)
            {
                // A request cancelled without a last event may still hold text; Flushed waits for it to go.
                if (_held) broke = SendLocked();
                else if (_start == _end) _flushed.TrySetResult();
            }
        }
        if (broke) _onBroken?.Invoke();
        return true;
    }

    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate) return ValueTask.FromResult(!_completed && !_broken);
    }

    /// <summary>Sends what it can now; true when the socket turned out to be broken.</summary>
    private bool SendLocked()
    {
        // Whatever is held goes now, or with the drain.
        _held = false;
        _lastSent = Stopwatch.GetTimestamp();
        while (_start < _end)
        {
            var sent = _socket.Send(_buffer.AsSpan(_start, _end - _start), SocketFlags.None, out var error);
            if (error == SocketError.Success)
            {
                _start += sent;
                continue;
            }
            if (error == SocketError.WouldBlock)
            {
                _draining = true;
                _ = DrainAsync();
                return false;
            }
            Break();
            return true;
        }
        _start = _end = 0;
        if (_completed) _flushed.TrySetResult();
        return false;
    }

    /// <summary>
    /// Sends what the socket would not take at once, off the loop's thread, until the buffer is empty. Being async, it
    /// registers the socket with .NET's epoll loop (see <see cref="ClosedConnectionWatch"/>): a cost paid only by a
    /// connection whose reader fell a socket buffer behind.
    /// </summary>
    private async Task DrainAsync()
    {
        while (true)
        {
            ReadOnlyMemory<byte> pending;
            lock (_gate)
            {
                if (_broken) return;
                if (_start == _end)
                {
                    _draining = false;
                    _start = _end = 0;
                    if (_completed) _flushed.TrySetResult();
                    return;
                }
                // Appends meanwhile only grow the array with Array.Resize, which keeps these bytes where they are.
                pending = _buffer.AsMemory(_start, _end - _start);
            }
            int sent;
            try
            {
                sent = await _socket.SendAsync(pending, SocketFlags.None);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                lock (_gate) Break();
                _onBroken?.Invoke();
                return;
            }
            lock (_gate) _start += sent;
        }
    }

    /// <summary>The server is gone: drop what is unsent, refuse further events.</summary>
    private void Break()
    {
        _broken = true;
        _start = _end = 0;
        _flushed.TrySetResult();
    }
}
