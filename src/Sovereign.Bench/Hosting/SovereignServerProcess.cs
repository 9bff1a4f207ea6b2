using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Sovereign.Inference.Hosting;

namespace Sovereign.Bench.Hosting;

/// <summary>
/// A real <c>sov serve</c> started as a child process for the benchmark: loopback only, a port the OS picks, a data
/// folder of its own (deleted on dispose) and an admin key made up for the run. Disposing stops it with SIGTERM, which
/// also ends its runner processes; after 15 s it is killed with its whole process tree. Thread-safe.
/// </summary>
public sealed class SovereignServerProcess : IAsyncDisposable
{
    private const string ListeningMarker = "Now listening on: ";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly Queue<string> _tail = new();
    private readonly Queue<string> _warnings = new();
    private bool _afterWarning;
    private readonly Lock _gate = new();
    private int _disposed;

    private SovereignServerProcess(Process process, string home, string adminKey, IReadOnlyList<string> arguments)
    {
        _process = process;
        Home = home;
        AdminKey = adminKey;
        Arguments = arguments;
    }

    /// <summary>Where it listens, e.g. http://127.0.0.1:41237.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>Its data folder (SOV_HOME), made for this process and deleted with it.</summary>
    public string Home { get; }

    public string AdminKey { get; }

    public int ProcessId => _process.Id;

    /// <summary>The arguments after <c>sov</c>, for the record.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>The last lines it wrote (stdout and stderr), for error messages.</summary>
    public string RecentOutput
    {
        get
        {
            lock (_gate) return string.Join(Environment.NewLine, _tail);
        }
    }

    /// <summary>
    /// The last warnings and errors it logged, each with the line after it (the console logger writes a message on the
    /// line after its level and category): what explains a runner gone missing long after it happened.
    /// </summary>
    public string RecentWarnings
    {
        get
        {
            lock (_gate) return string.Join(Environment.NewLine, _warnings);
        }
    }

    /// <summary>
    /// Starts <c>sov serve --urls http://127.0.0.1:0</c> with <paramref name="settings"/> (ASP.NET configuration
    /// arguments such as <c>--Sovereign:Engine:ContextSize=4096</c>) and waits until it listens.
    /// </summary>
    /// <exception cref="InvalidOperationException">It exited or did not listen within 60 s; the message holds its last output.</exception>
    public static async Task<SovereignServerProcess> StartAsync(IReadOnlyList<string> settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var home = Path.Combine(Path.GetTempPath(), "sov-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(home);
        var adminKey = "sov-bench-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

        // The same `sov` build that runs this benchmark (apphost, else `dotnet sov.dll`).
        var command = RunnerCommand.Locate();
        var psi = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in command.Arguments) psi.ArgumentList.Add(a);
        // --parent-pid: a benchmark that crashes or is killed does not leave its server (and the server's runners) behind.
        List<string> arguments = ["serve", "--urls", "http://127.0.0.1:0", "--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), .. settings];
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        // The server runs as an operator's would: none of this process's own address or key settings leak into it.
        foreach (var key in new[] { "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "SOV_URL", "SOV_API_KEY" })
            psi.Environment.Remove(key);
        psi.Environment["SOV_HOME"] = home;
        psi.Environment["SOV_ADMIN_KEY"] = adminKey;
        psi.Environment["NO_COLOR"] = "1";

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {command.FileName}.");
        var server = new SovereignServerProcess(process, home, adminKey, arguments);
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null) return;
            server.Remember(line);
            var at = line.IndexOf(ListeningMarker, StringComparison.Ordinal);
            if (at >= 0) listening.TrySetResult(line[(at + ListeningMarker.Length)..].Trim());
        }
        // Both streams are read to the end, so the server never blocks on a full pipe.
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StartTimeout);
            var exited = process.WaitForExitAsync(timeout.Token);
            var first = await Task.WhenAny(listening.Task, exited).ConfigureAwait(false);
            if (first != listening.Task)
            {
                await first.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                cancellationToken.ThrowIfCancellationRequested();
                var why = process.HasExited ? $"exited with code {process.ExitCode}" : $"did not listen within {StartTimeout.TotalSeconds:0} s";
                throw new InvalidOperationException($"`sov serve` {why}. Its last output:{Environment.NewLine}{server.RecentOutput}");
            }
            server.Url = new Uri(await listening.Task.ConfigureAwait(false));
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private void Remember(string line)
    {
        lock (_gate)
        {
            _tail.Enqueue(line);
            while (_tail.Count > 40) _tail.Dequeue();
            var warning = line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal)
                || line.StartsWith("crit:", StringComparison.Ordinal);
            if (warning || _afterWarning)
            {
                _warnings.Enqueue(line.Trim());
                while (_warnings.Count > 20) _warnings.Dequeue();
            }
            _afterWarning = warning;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            if (!_process.HasExited)
            {
                // SIGTERM: a graceful stop, in which the model manager ends every runner.
                _ = kill(_process.Id, SigTerm);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        finally
        {
            _process.Dispose();
            try
            {
                Directory.Delete(Home, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private const int SigTerm = 15;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"sov serve (pid {ProcessId}) at {Url}");
}
