using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Inference.Engine;
using Sovereign.Inference.Protocol;

namespace Sovereign.Inference.Runner;

/// <summary>
/// The runner's generation socket (see runner.proto): one connection per request, the request in one frame, its events
/// back in frames written by the engine loop itself (<see cref="SocketEventWriter"/>). It sits beside the gRPC service
/// because a token through an HTTP/2 stream took about ten thread wake-ups between the loop and the server's handler,
/// and on a machine whose cores all decode, each of those is taken from decoding (bench/README.md).
/// </summary>
internal sealed partial class GenerationStreamServer : IAsyncDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private readonly Socket _listener;
    private readonly LlamaEngine _engine;
    private readonly ILogger _logger;
    private readonly string _path;
    private readonly CancellationTokenSource _stop = new();
    private readonly ClosedConnectionWatch _watch = new();
    private readonly Task _accepting;

    private GenerationStreamServer(Socket listener, string path, LlamaEngine engine, ILogger logger)
    {
        _listener = listener;
        _path = path;
        _engine = engine;
        _logger = logger;
        _accepting = AcceptAsync();
    }

    public static GenerationStreamServer Start(string path, LlamaEngine engine, ILogger logger)
    {
        if (File.Exists(path)) File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        return new GenerationStreamServer(listener, path, engine, logger);
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || _stop.IsCancellationRequested)
            {
                return;
            }
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.Server.Serve(state.Connection), (Server: this, Connection: connection), preferLocal: false);
        }
    }

    /// <summary>Answers one connection; its socket only ever sees synchronous calls (see <see cref="ClosedConnectionWatch"/>).</summary>
    private void Serve(Socket connection)
    {
        try
        {
            if (!ServeRequest(connection)) connection.Dispose();
        }
        catch (Exception e)
        {
            connection.Dispose();
            // The server went away, or sent something that is not a request: nothing to answer.
            if (e is not (SocketException or IOException or ObjectDisposedException or InvalidDataException or Google.Protobuf.InvalidProtocolBufferException))
                LogConnectionFailed(_logger, e);
        }
    }

    /// <summary>True when the request was accepted and the connection handed to the watch.</summary>
    private bool ServeRequest(Socket connection)
    {
        // :: Step 1: the request. The server sends it as soon as it connects; a client that stalls is dropped.
        connection.ReceiveTimeout = (int)RequestTimeout.TotalMilliseconds;
        var request = new FrameReader(connection).Read(GenerateRequest.Parser);
        if (request is null) return false;

        // :: Step 2: submit it; a refusal is the only frame of the answer.
        var gone = new CancellationTokenSource();
        var output = new SocketEventWriter(connection, () => CancelQuietly(gone));
        try
        {
            _engine.Submit(RunnerProtocol.ToGeneration(request), output, gone.Token);
        }
        catch (SovereignException e)
        {
            connection.Blocking = true;
            connection.Send(Frames.Of(new GenerateEvent { Refused = RunnerErrors.ToRefusal(e) }));
            return false;
        }

        // :: Step 3: the loop writes the events; the server closing the connection cancels the request.
        output.Open();
        _watch.Watch(connection, output.Flushed, () => CancelQuietly(gone));
        return true;
    }

    /// <summary>Cancels the request of a connection the server closed (the watch or a failed send may both notice).</summary>
    private static void CancelQuietly(CancellationTokenSource gone)
    {
        try
        {
            gone.Cancel();
        }
        catch (AggregateException)
        {
            // A cancellation callback failed; the request ends anyway once the loop sees the flag.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        _watch.Dispose();
        _stop.Dispose();
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A generation connection failed.")]
    private static partial void LogConnectionFailed(ILogger logger, Exception exception);
}
