using System.Net.Sockets;
using Sovereign.Inference.Protocol;
using Sovereign.Inference.Runner;

namespace Sovereign.Inference.Hosting;

/// <summary>
/// The server's end of one generation on a runner's generation socket (see runner.proto). Disposing it closes the
/// connection, which cancels the request in the runner.
/// </summary>
internal sealed class RunnerEventStream : IDisposable
{
    private static readonly Task<bool> s_moved = Task.FromResult(true);
    private readonly Socket _socket;
    private readonly FrameReader _reader;

    private RunnerEventStream(Socket socket)
    {
        _socket = socket;
        _reader = new FrameReader(socket);
    }

    public GenerateEvent Current { get; private set; } = new();

    /// <summary>Connects and sends the request. The runner's answer is the first event read.</summary>
    public static async Task<RunnerEventStream> OpenAsync(string socketPath, GenerateRequest request, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
            // Never a half-close after this: the runner takes the end of the connection for a cancellation.
            await Frames.SendAsync(socket, Frames.Of(request), cancellationToken);
            return new RunnerEventStream(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the next event into <see cref="Current"/>; false when the runner closed the connection. Completes
    /// synchronously when the event has already arrived, so a caller can take what is waiting without waiting.
    /// </summary>
    public Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        if (!_reader.TryReadBuffered(GenerateEvent.Parser, out var next)) return MoveNextAsync(cancellationToken);
        Current = next;
        return s_moved;
    }

    private async Task<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        var next = await _reader.ReadAsync(GenerateEvent.Parser, cancellationToken);
        if (next is null) return false;
        Current = next;
        return true;
    }

    public void Dispose() => _socket.Dispose();
}
