using System.Diagnostics;

namespace Sovereign.Cli.Tests;

/// <summary>`sov serve --parent-pid`: a server started by a tool (the benchmark, a test) ends when that tool does.</summary>
public sealed class ServeParentTests
{
    [Fact]
    public async Task A_server_started_with_its_parents_pid_stops_once_that_parent_is_gone()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sov-parent-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var log = Path.Combine(dir, "serve.log");
        var release = Path.Combine(dir, "release");
        // The parent is a shell that starts the server in the background, prints its pid and lives until told to end.
        var serve = Sov.StartInfo(new Dictionary<string, string>(), "serve", "--urls", "http://127.0.0.1:0");
        var command = string.Join(' ', new[] { serve.FileName }.Concat(serve.ArgumentList).Select(Quote));
        var psi = new ProcessStartInfo("/bin/sh")
        {
            ArgumentList = { "-c", $"{command} --parent-pid $$ > {Quote(log)} 2>&1 & echo $!; while [ ! -f {Quote(release)} ]; do sleep 0.1; done" },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var (k, v) in serve.Environment) psi.Environment[k] = v;
        psi.Environment["SOV_HOME"] = Path.Combine(dir, "home");
        using var parent = Process.Start(psi)!;
        var serverPid = int.Parse((await parent.StandardOutput.ReadLineAsync())!, System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            await WaitUntilAsync(() => File.Exists(log) && File.ReadAllText(log).Contains("Now listening on: ", StringComparison.Ordinal), "the server to listen", log);

            await File.WriteAllTextAsync(release, "");
            await parent.WaitForExitAsync();

            await WaitUntilAsync(() => !IsRunning(serverPid), "the server to stop after its parent ended", log);
            Assert.Contains($"the parent process {parent.Id} is gone", await File.ReadAllTextAsync(log), StringComparison.Ordinal);
        }
        finally
        {
            if (IsRunning(serverPid)) Process.Start("kill", ["-KILL", serverPid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    public async Task A_parent_pid_that_is_no_process_id_is_refused_in_one_line(string pid)
    {
        var result = await Sov.RunAsync(new Dictionary<string, string>(), "serve", "--urls", "http://127.0.0.1:0", "--parent-pid", pid);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--parent-pid must be a process id greater than 0", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Whether the process runs; an ended one that nobody has reaped yet (a zombie) does not.</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static async Task WaitUntilAsync(Func<bool> condition, string what, string log)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Waited 60 s for {what}. Server log:\n{(File.Exists(log) ? File.ReadAllText(log) : "(none)")}");
            await Task.Delay(100);
        }
    }
}
