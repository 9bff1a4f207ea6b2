using System.Net.Sockets;
using System.Threading.Channels;
using Google.Protobuf;
using Sovereign.Core.Generation;
using Sovereign.Inference.Protocol;

namespace Sovereign.Inference.Runner;

/// <summary>
/// The output of one request on the runner's generation socket. The engine loop writes each event here on its own
/// thread and it goes out at once, with a non-blocking send: no thread hop in the runner between a sampled token and
/// the server. Only when the socket's buffer is full (the server reads slowly) do frames wait here for a background
/// send, so the loop never blocks on one client.
/// </summary>
internal sealed class SocketEventWriter : ChannelWriter<GenerationEvent>
{
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

    /// <param name="socket">Set to non-blocking here; the writer sends on it, others may still receive.</param>
    /// <param name="onBroken">Called once, outside the writer's lock, when a send finds the server gone.</param>
    public SocketEventWriter(Socket socket, Action? onBroken = null)
    {
        _socket = socket;
        _onBroken = onBroken;
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

    public override bool TryWrite(GenerationEvent item) => TryWrite(RunnerProtocol.ToProto(item));

    private bool TryWrite(IMessage message)
    {
        bool broke;
        lock (_gate)
        {
            if (_completed || _broken) return false;
            Frames.Append(message, ref _buffer, ref _end);
            broke = _open && !_draining && SendLocked();
        }
        if (broke) _onBroken?.Invoke();
        return !broke;
    }

    public override bool TryComplete(Exception? error = null)
    {
        lock (_gate)
        {
            if (_completed) return false;
            _completed = true;
            if (_open && !_draining && _start == _end) _flushed.TrySetResult();
            return true;
        }
    }

    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate) return ValueTask.FromResult(!_completed && !_broken);
    }

    /// <summary>Sends what it can now; true when the socket turned out to be broken.</summary>
    private bool SendLocked()
    {
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
