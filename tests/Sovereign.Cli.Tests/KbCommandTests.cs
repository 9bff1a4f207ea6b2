namespace Sovereign.Cli.Tests;

/// <summary>`sov kb` against a real `sov serve`: create, add with progress until ingested, docs, search, rm.</summary>
public sealed class KbCommandTests : IAsyncLifetime
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "sov-kb-" + Guid.NewGuid().ToString("N")[..8]);
    private SovServer _server = null!;

    private Dictionary<string, string> Env => new() { ["SOV_HOME"] = _home, ["SOV_URL"] = _server.Url };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_home);
        _server = await SovServer.StartAsync(new Dictionary<string, string> { ["SOV_HOME"] = _home });
    }

    [Fact]
    public async Task A_user_creates_a_knowledge_base_adds_files_lists_searches_and_removes_it()
    {
        var policy = Path.Combine(_home, "parking-policy.md");
        await File.WriteAllTextAsync(policy, "# Parking\n\nNight shift workers park free of charge after seven in the evening.\n");
        var notes = Path.Combine(_home, "fire-notes.txt");
        await File.WriteAllTextAsync(notes, "Fire drills happen on the first Tuesday of every month.\n");

        var create = await Sov.RunAsync(Env, "kb", "create", "handbook", "--description", "Staff rules");
        Assert.True(create.ExitCode == 0, create.Output);
        Assert.Contains("Created knowledge base handbook", create.Stdout, StringComparison.Ordinal);

        var add = await Sov.RunAsync(Env, "kb", "add", "handbook", policy, notes);
        Assert.True(add.ExitCode == 0, add.Output);
        Assert.Contains("parking-policy.md: ready", add.Stdout, StringComparison.Ordinal);
        Assert.Contains("fire-notes.txt: ready", add.Stdout, StringComparison.Ordinal);

        var list = await Sov.RunAsync(Env, "kb", "list");
        Assert.Contains("handbook", list.Stdout, StringComparison.Ordinal);
        var docs = await Sov.RunAsync(Env, "kb", "docs", "handbook");
        Assert.Contains("parking-policy.md", docs.Stdout, StringComparison.Ordinal);
        Assert.Contains("ready", docs.Stdout, StringComparison.Ordinal);

        var search = await Sov.RunAsync(Env, "kb", "search", "handbook", "where can night staff park", "-k", "1");
        Assert.True(search.ExitCode == 0, search.Output);
        Assert.Contains("parking-policy.md", search.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("fire-notes.txt", search.Stdout, StringComparison.Ordinal);

        var rm = await Sov.RunAsync(Env, "kb", "rm", "handbook");
        Assert.Equal(0, rm.ExitCode);
        Assert.DoesNotContain("handbook", (await Sov.RunAsync(Env, "kb", "list")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mistakes_end_in_one_line_and_a_non_zero_exit()
    {
        var missingFile = await Sov.RunAsync(Env, "kb", "add", "nowhere", Path.Combine(_home, "no-such-file.pdf"));
        Assert.Equal(1, missingFile.ExitCode);
        Assert.StartsWith("sov: No such file", missingFile.Stderr, StringComparison.Ordinal);

        var missingBase = await Sov.RunAsync(Env, "kb", "search", "nowhere", "anything");
        Assert.Equal(1, missingBase.ExitCode);
        Assert.Contains("No knowledge base 'nowhere'", missingBase.Stderr, StringComparison.Ordinal);
        Assert.Single(missingBase.Stderr.Trim().Split('\n'));
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
