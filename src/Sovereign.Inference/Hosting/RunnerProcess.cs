using System.Diagnostics;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Sovereign.Core.Errors;
using Sovereign.Inference.Protocol;
using Sovereign.Inference.Runner;

namespace Sovereign.Inference.Hosting;

/// <summary>
/// One started runner process, the gRPC channel to it and where its generation socket is. Owned by <see cref="ModelManager"/>; thread-safe
/// for concurrent calls (gRPC channels multiplex over one HTTP/2 connection).
/// </summary>
internal sealed class RunnerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly GrpcChannel _channel;
    private readonly string _socketPath;
    private readonly StderrTail _stderr;

    private RunnerProcess(Process process, GrpcChannel channel, RunnerSettings settings, StderrTail stderr, StatusReply status)
    {
        _process = process;
        _channel = channel;
        _socketPath = settings.SocketPath;
        GenerationSocketPath = settings.GenerationSocketPath;
        _stderr = stderr;
        Client = new Protocol.Runner.RunnerClient(channel);
        InitialStatus = status;
    }

    public Protocol.Runner.RunnerClient Client { get; }

    /// <summary>Where generation requests go (<see cref="RunnerEventStream"/>); everything else goes through <see cref="Client"/>.</summary>
    public string GenerationSocketPath { get; }

    public StatusReply InitialStatus { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Why the process is gone, for the error a client sees: its exit code and the last lines it wrote.</summary>
    public string ExitDescription()
    {
        var code = _process.HasExited ? $"exit code {_process.ExitCode}" : "still running";
        var tail = _stderr.Text;
        return tail.Length == 0 ? code : $"{code}; last output: {tail}";
    }

    /// <summary>
    /// Starts a runner and waits until it has loaded the model and answers on its socket.
    /// Fails with a clear message (503 unless the model itself was refused) when it exits or times out first.
    /// </summary>
    public static async Task<RunnerProcess> StartAsync(RunnerCommand command, RunnerSettings settings, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var a in command.Arguments) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("runner");
        psi.Environment[RunnerSettings.EnvironmentVariable] = settings.ToJson();

        var process = Process.Start(psi) ?? throw new SovereignException(ErrorKind.Internal, $"Could not start the model runner '{command.FileName}'.");
        var stderr = new StderrTail();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) stderr.Add(e.Data); };
        process.BeginErrorReadLine();

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == RunnerHost.ReadyLine) ready.TrySetResult();
        };
        process.BeginOutputReadLine();

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var exited = process.WaitForExitAsync(cts.Token);
        try
        {
            var first = await Task.WhenAny(ready.Task, exited, Task.Delay(Timeout.Infinite, cts.Token));
            if (first != ready.Task)
            {
                await first.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (process.HasExited)
                {
                    // Give the stderr reader a moment to drain the runner's last words.
                    await Task.Delay(100, CancellationToken.None);
                    var why = stderr.Text;
                    throw new SovereignException(process.ExitCode == 3 ? ErrorKind.InvalidRequest : ErrorKind.Unavailable,
                        $"The model could not be loaded: {(why.Length > 0 ? why : $"the runner exited with code {process.ExitCode}")}",
                        code: "model_load_failed");
                }
                cancellationToken.ThrowIfCancellationRequested();
                throw new SovereignException(ErrorKind.Unavailable, $"The model did not finish loading within {timeout.TotalSeconds:0} s.", code: "model_load_timeout");
            }

            var channel = CreateChannel(settings.SocketPath);
            var status = await new Protocol.Runner.RunnerClient(channel).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            return new RunnerProcess(process, channel, settings, stderr, status);
        }
        catch
        {
            Kill(process);
            process.Dispose();
            throw;
        }
    }

    private static GrpcChannel CreateChannel(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            // Many concurrent calls (embeddings, reranks) share one connection; let HTTP/2 open more rather than queue them.
            EnableMultipleHttp2Connections = true,
        };
        return GrpcChannel.ForAddress("http://runner", new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
    }

    public async ValueTask DisposeAsync()
    {
        Kill(_process);
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }
        _channel.Dispose();
        _process.Dispose();
        foreach (var path in new[] { _socketPath, GenerationSocketPath })
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Keeps the last few lines a runner wrote to stderr. Thread-safe.</summary>
    private sealed class StderrTail
    {
        private readonly Queue<string> _lines = new();
        private readonly Lock _gate = new();

        public void Add(string line)
        {
            lock (_gate)
            {
                _lines.Enqueue(line);
                while (_lines.Count > 8) _lines.Dequeue();
            }
        }

        public string Text
        {
            get
            {
                lock (_gate) return string.Join(" | ", _lines.Where(l => l.Length > 0)).Trim();
            }
        }
    }
}

/// <summary>How to start the runner: the same `sov` executable, in runner mode.</summary>
public sealed record RunnerCommand(string FileName, IReadOnlyList<string> Arguments)
{
    /// <summary>
    /// Finds `sov` next to this assembly (apphost first, then `dotnet sov.dll`), so the server, the CLI and the
    /// test hosts all start the same runner build they were built with.
    /// </summary>
    public static RunnerCommand Locate(string? configured = null)
    {
        if (!string.IsNullOrWhiteSpace(configured)) return Parse(configured);
        var dir = AppContext.BaseDirectory;
        var apphost = Path.Combine(dir, OperatingSystem.IsWindows() ? "sov.exe" : "sov");
        if (File.Exists(apphost)) return new RunnerCommand(apphost, []);
        var dll = Path.Combine(dir, "sov.dll");
        if (File.Exists(dll)) return new RunnerCommand(DotnetHost(), [dll]);
        throw new SovereignException(ErrorKind.Internal, $"The runner executable 'sov' was not found in {dir}; set Sovereign:Engine:RunnerCommand.");
    }

    private static RunnerCommand Parse(string commandLine)
    {
        var parts = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new RunnerCommand(parts[0], parts[1..]);
    }

    private static string DotnetHost()
    {
        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet") return current;
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (root is not null && File.Exists(Path.Combine(root, "dotnet"))) return Path.Combine(root, "dotnet");
        return "dotnet";
    }
}
