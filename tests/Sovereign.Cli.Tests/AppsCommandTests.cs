namespace Sovereign.Cli.Tests;

/// <summary>`sov apps …` against a real `sov serve`: templates, create from a template, list, show, publish, rollback.</summary>
public sealed class AppsCommandTests : IAsyncLifetime
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "sov-apps-" + Guid.NewGuid().ToString("N")[..8]);
    private SovServer _server = null!;

    private Dictionary<string, string> Env => new() { ["SOV_HOME"] = _home, ["SOV_URL"] = _server.Url };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_home);
        _server = await SovServer.StartAsync(new Dictionary<string, string> { ["SOV_HOME"] = _home });
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

    private async Task<Sov.Result> OkAsync(params string[] args)
    {
        var result = await Sov.RunAsync(Env, args);
        Assert.True(result.ExitCode == 0, $"sov {string.Join(' ', args)}: {result.Output}");
        return result;
    }

    [Fact]
    public async Task Templates_are_listed_in_a_table()
    {
        var templates = await OkAsync("apps", "templates");
        foreach (var id in new[] { "customer-support", "clinical-guidelines", "translation-localisation" })
            Assert.Contains(id, templates.Stdout, StringComparison.Ordinal);
        Assert.Contains("TEMPLATE", templates.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_app_is_created_from_a_template_published_and_rolled_back()
    {
        await OkAsync("models", "import", Sov.Stories260K, "--name", "stories-chat", "--chat-template", "chatml");

        using (var http = new HttpClient())
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", (await File.ReadAllTextAsync(Path.Combine(_home, "admin.key"))).Trim());
            using var kb = await http.PostAsync($"{_server.Url}/v1/knowledge", new StringContent("""{"name": "acme-help"}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.True(kb.IsSuccessStatusCode, await kb.Content.ReadAsStringAsync());
        }

        var created = await OkAsync("apps", "create", "help-desk", "--from-template", "customer-support", "--model", "stories-chat", "--knowledge", "acme-help", "--publish");
        Assert.Contains("Published version 1", created.Stdout, StringComparison.Ordinal);

        var list = await OkAsync("apps", "list");
        Assert.Contains("help-desk", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("Customer support desk", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("v1", list.Stdout, StringComparison.Ordinal);

        // With one version there is nothing to roll back to: one line, exit 1.
        var nothing = await Sov.RunAsync(Env, "apps", "rollback", "help-desk");
        Assert.Equal(1, nothing.ExitCode);
        Assert.Single(nothing.Stderr.Trim().Split('\n'));
        Assert.Contains("no earlier version", nothing.Stderr, StringComparison.Ordinal);

        Assert.Contains("version 2", (await OkAsync("apps", "publish", "help-desk")).Stdout, StringComparison.Ordinal);
        Assert.Contains("live at version 1", (await OkAsync("apps", "rollback", "help-desk")).Stdout, StringComparison.Ordinal);

        var show = await OkAsync("apps", "show", "help-desk");
        Assert.Contains("app:help-desk", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("How do I return an item", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("v1", show.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publishing_an_app_whose_model_is_missing_fails_with_one_line_naming_it()
    {
        await OkAsync("apps", "create", "clinic", "--from-template", "clinical-guidelines", "--no-knowledge");

        var publish = await Sov.RunAsync(Env, "apps", "publish", "clinic");

        Assert.Equal(1, publish.ExitCode);
        Assert.Contains("qwen2.5:7b-instruct", publish.Stderr, StringComparison.Ordinal);
        Assert.Contains("409", publish.Stderr, StringComparison.Ordinal);
    }
}
