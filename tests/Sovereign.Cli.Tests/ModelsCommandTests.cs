namespace Sovereign.Cli.Tests;

/// <summary>`sov models …` on a data folder, with no server running.</summary>
public sealed class ModelsCommandTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "sov-cli-" + Guid.NewGuid().ToString("N")[..8]);
    private Dictionary<string, string> Env => new() { ["SOV_HOME"] = _home };

    [Fact]
    public async Task Import_then_list_and_show_describe_the_model()
    {
        var import = await Sov.RunAsync(Env, "models", "import", Sov.Stories260K, "--name", "stories:v1");
        Assert.True(import.ExitCode == 0, import.Output);
        Assert.Contains("Imported stories:v1", import.Stdout, StringComparison.Ordinal);
        Assert.Contains("sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d", import.Stdout, StringComparison.Ordinal);

        var list = await Sov.RunAsync(Env, "models", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("stories:v1", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("llama", list.Stdout, StringComparison.Ordinal);

        var show = await Sov.RunAsync(Env, "models", "show", "stories:v1");
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("2048", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("none", show.Stdout, StringComparison.Ordinal); // no chat template in this model
    }

    [Fact]
    public async Task Importing_the_same_file_twice_stores_one_blob()
    {
        Assert.Equal(0, (await Sov.RunAsync(Env, "models", "import", Sov.Stories260K, "--name", "a")).ExitCode);
        Assert.Equal(0, (await Sov.RunAsync(Env, "models", "import", Sov.Stories260K, "--name", "b")).ExitCode);
        Assert.Single(Directory.GetFiles(Path.Combine(_home, "models", "blobs"), "sha256-*"));
    }

    [Fact]
    public async Task A_corrupt_file_is_refused_with_one_line_and_nothing_is_stored()
    {
        var bad = Path.Combine(_home, "bad.gguf");
        Directory.CreateDirectory(_home);
        var bytes = await File.ReadAllBytesAsync(Sov.Stories260K);
        await File.WriteAllBytesAsync(bad, bytes[..5000]); // truncated inside the tensor data

        var result = await Sov.RunAsync(Env, "models", "import", bad);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("bad.gguf", line, StringComparison.Ordinal);
        var blobs = Path.Combine(_home, "models", "blobs");
        Assert.True(!Directory.Exists(blobs) || Directory.GetFiles(blobs).Length == 0);
        Assert.Contains("No models", (await Sov.RunAsync(Env, "models", "list")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Template_override_is_validated_and_recorded()
    {
        Assert.Equal(0, (await Sov.RunAsync(Env, "models", "import", Sov.Stories260K, "--name", "s")).ExitCode);
        var bad = await Sov.RunAsync(Env, "models", "template", "s", "no-such-template");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("chatml", bad.Stderr, StringComparison.Ordinal); // the message lists the known ones

        Assert.Equal(0, (await Sov.RunAsync(Env, "models", "template", "s", "chatml")).ExitCode);
        Assert.Contains("chatml (override)", (await Sov.RunAsync(Env, "models", "show", "s")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Removing_an_unknown_model_fails_clearly()
    {
        var result = await Sov.RunAsync(Env, "models", "rm", "nothing-here");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("sov: No model named 'nothing-here'", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_command_is_a_usage_error()
    {
        var result = await Sov.RunAsync(Env, "frobnicate");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("frobnicate", result.Stderr, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
