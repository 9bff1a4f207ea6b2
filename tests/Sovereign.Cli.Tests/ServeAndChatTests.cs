using System.Net;
using System.Net.Http.Headers;

namespace Sovereign.Cli.Tests;

/// <summary>The README's path as a user walks it: `sov serve`, `sov models import`, `sov chat`, `sov keys`, `sov doctor`.</summary>
public sealed class ServeAndChatTests : IAsyncLifetime
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "sov-serve-" + Guid.NewGuid().ToString("N")[..8]);
    private SovServer _server = null!;

    private Dictionary<string, string> Env => new() { ["SOV_HOME"] = _home, ["SOV_URL"] = _server.Url };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_home);
        _server = await SovServer.StartAsync(new Dictionary<string, string> { ["SOV_HOME"] = _home });
    }

    [Fact]
    public async Task First_start_prints_the_admin_key_once_and_the_cli_finds_it()
    {
        var keyFile = Path.Combine(_home, "admin.key");
        var key = (await File.ReadAllTextAsync(keyFile)).Trim();
        Assert.Contains(key, _server.Log, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));

        // The CLI uses the local data folder's admin key without being told.
        var list = await Sov.RunAsync(Env, "keys", "list");
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Contains("admin", list.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_imported_while_the_server_runs_can_be_chatted_with_at_once()
    {
        Assert.Equal(0, (await Sov.RunAsync(Env, "models", "import", Sov.Stories260K, "--name", "stories-chat", "--chat-template", "chatml")).ExitCode);

        var chat = await Sov.RunAsync(Env, "chat", "stories-chat", "-p", "Tell me a story", "--max-tokens", "24", "--temperature", "0");

        Assert.True(chat.ExitCode == 0, chat.Output);
        Assert.True(chat.Stdout.Trim().Length > 10, chat.Output);
    }

    [Fact]
    public async Task Ps_lists_a_model_once_it_is_loaded()
    {
        Assert.Contains("No models loaded", (await Sov.RunAsync(Env, "ps")).Stdout, StringComparison.Ordinal);
        Assert.Equal(0, (await Sov.RunAsync(Env, "models", "import", Sov.Stories260K, "--name", "stories-chat", "--chat-template", "chatml")).ExitCode);
        Assert.Equal(0, (await Sov.RunAsync(Env, "chat", "stories-chat", "-p", "hi", "--max-tokens", "2")).ExitCode);

        var ps = await Sov.RunAsync(Env, "ps");

        Assert.Equal(0, ps.ExitCode);
        Assert.Contains("stories-chat:latest", ps.Stdout, StringComparison.Ordinal);
        Assert.Contains("MiB", ps.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_with_an_unknown_model_fails_with_one_line()
    {
        var chat = await Sov.RunAsync(Env, "chat", "missing-model", "-p", "hi");
        Assert.Equal(1, chat.ExitCode);
        Assert.Contains("missing-model", chat.Stderr, StringComparison.Ordinal);
        Assert.Contains("404", chat.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_created_key_works_until_it_is_revoked()
    {
        var created = await Sov.RunAsync(Env, "keys", "create", "reporting-app");
        Assert.True(created.ExitCode == 0, created.Output);
        var key = created.Stdout.Trim();
        Assert.StartsWith("sov-", key, StringComparison.Ordinal);

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{_server.Url}/v1/models")).StatusCode);

        var list = await Sov.RunAsync(Env, "keys", "list");
        var row = list.Stdout.Split('\n').Single(l => l.Contains("reporting-app", StringComparison.Ordinal));
        Assert.DoesNotContain(key, list.Stdout, StringComparison.Ordinal);
        var id = row.Split('│', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];

        Assert.Equal(0, (await Sov.RunAsync(Env, "keys", "revoke", id)).ExitCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"{_server.Url}/v1/models")).StatusCode);
    }

    [Fact]
    public async Task Doctor_reports_the_native_backend_and_the_running_server()
    {
        var doctor = await Sov.RunAsync(Env, "doctor");
        Assert.True(doctor.ExitCode == 0, doctor.Output);
        Assert.Contains("llama.cpp via LLamaSharp 0.30.0", doctor.Stdout, StringComparison.Ordinal);
        Assert.True(doctor.Stdout.Contains("none running", StringComparison.Ordinal) || doctor.Stdout.Contains("DAMON", StringComparison.Ordinal), doctor.Stdout);
        Assert.Contains("ok", doctor.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_does_not_watch_the_folders_below_where_it_was_started()
    {
        // An operator starting `sov serve` in a big tree (a home folder) must not cost an inotify watch per folder.
        var cwd = Path.Combine(_home, "cwd");
        for (var i = 0; i < 30; i++) Directory.CreateDirectory(Path.Combine(cwd, $"d{i}", "sub"));
        await using var server = await SovServer.StartAsync(new Dictionary<string, string> { ["SOV_HOME"] = Path.Combine(_home, "second") }, cwd);

        var watches = 0;
        foreach (var fd in Directory.GetFiles($"/proc/{server.ProcessId}/fd"))
        {
            if (new FileInfo(fd).LinkTarget != "anon_inode:inotify") continue;
            watches += File.ReadLines($"/proc/{server.ProcessId}/fdinfo/{Path.GetFileName(fd)}").Count(l => l.StartsWith("inotify wd:", StringComparison.Ordinal));
        }
        Assert.True(watches < 30, $"{watches} inotify watches");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
