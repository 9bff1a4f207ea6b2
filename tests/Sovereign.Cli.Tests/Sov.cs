using System.Diagnostics;
using System.Text;

namespace Sovereign.Cli.Tests;

/// <summary>Runs the real `sov` executable built beside the tests, with its own environment.</summary>
internal static class Sov
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Stories260K => Path.Combine(RepoRoot, "..", "shared", "models", "stories260K.gguf");

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Output => Stdout + Stderr;
    }

    public static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var apphost = Path.Combine(AppContext.BaseDirectory, "sov");
        var psi = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "sov.dll") } };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        // A wide, plain console so tables are not wrapped or coloured in assertions.
        psi.Environment["COLUMNS"] = "240";
        psi.Environment["NO_COLOR"] = "1";
        foreach (var key in new[] { "SOV_HOME", "SOV_URL", "SOV_API_KEY", "SOV_ADMIN_KEY", "ASPNETCORE_URLS" }) psi.Environment.Remove(key);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return psi;
    }

    public static Task<Result> RunAsync(IReadOnlyDictionary<string, string> env, params string[] args) => RunWithInputAsync(env, null, args);

    /// <summary>Runs sov with <paramref name="stdin"/> written to its standard input (then closed).</summary>
    public static async Task<Result> RunWithInputAsync(IReadOnlyDictionary<string, string> env, string? stdin, params string[] args)
    {
        using var process = Process.Start(StartInfo(env, args))!;
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"sov {string.Join(' ', args)} did not finish in 2 minutes.");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sovereign.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Sovereign.slnx not found");
    }
}

/// <summary>`sov serve` as a real child process on a random loopback port, stopped (with its runners) on dispose.</summary>
internal sealed class SovServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private SovServer(Process process) => _process = process;

    public string Url { get; private set; } = "";

    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    /// <summary>The server's process id.</summary>
    public int ProcessId => _process.Id;

    public static async Task<SovServer> StartAsync(IReadOnlyDictionary<string, string> env, string? workingDirectory = null)
    {
        var start = Sov.StartInfo(env, "serve", "--urls", "http://127.0.0.1:0",
            "--parent-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        var process = Process.Start(start)!;
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = new SovServer(process);
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (server._log) server._log.AppendLine(line);
            const string marker = "Now listening on: ";
            var at = line.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0) listening.TrySetResult(line[(at + marker.Length)..].Trim());
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != listening.Task)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("sov serve did not start:\n" + server.Log);
        }
        server.Url = await listening.Task;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: a graceful stop that also ends the runners.
            Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }
}
