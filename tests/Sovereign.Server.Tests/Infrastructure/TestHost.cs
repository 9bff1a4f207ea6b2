using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Core.Generation;
using Sovereign.Core.Options;
using Sovereign.Models.Store;
using Sovereign.Server.Hosting;

namespace Sovereign.Server.Tests.Infrastructure;

/// <summary>
/// The real server (real Kestrel on 127.0.0.1, port 0) over a temporary data folder, talked to with a real
/// HttpClient. Optionally with a scripted engine instead of runner processes, for wire-format tests.
/// </summary>
internal sealed class TestHost : IAsyncDisposable
{
    /// <summary>Given as Sovereign:AdminKey unless a test asks for the generated one.</summary>
    public const string ConfiguredAdminKey = "sov-test-admin-0123456789abcdefghij";

    private readonly WebApplication _app;
    private readonly bool _ownsHome;
    private readonly List<HttpClient> _clients = [];

    private TestHost(WebApplication app, string home, bool ownsHome, Uri address, CapturingConsole console)
    {
        _app = app;
        Home = home;
        _ownsHome = ownsHome;
        Address = address;
        Console = console;
    }

    public string Home { get; }
    public SovereignPaths Paths => new(Home);
    public Uri Address { get; }
    public CapturingConsole Console { get; }
    public IServiceProvider Services => _app.Services;

    /// <summary>A fresh folder under the temp directory; the caller deletes it (or hands it to a host that does).</summary>
    public static string NewHome() => Directory.CreateTempSubdirectory("sov-server-test-").FullName;

    /// <param name="home">An existing data folder to reuse (kept on dispose); null for a fresh one (deleted on dispose).</param>
    /// <param name="adminKey">Sovereign:AdminKey; null to let the server generate one.</param>
    /// <param name="inference">Replaces the engine.</param>
    /// <param name="settings">More command-line settings.</param>
    public static async Task<TestHost> StartAsync(string? home = null, string? adminKey = ConfiguredAdminKey, IInferenceService? inference = null,
        IEnumerable<string>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var ownsHome = home is null;
        home ??= NewHome();
        List<string> args = ["--urls", "http://127.0.0.1:0", $"--Sovereign:Home={home}", "--Logging:LogLevel:Default=Warning"];
        if (adminKey is not null) args.Add($"--Sovereign:AdminKey={adminKey}");
        args.AddRange(settings ?? []);

        var console = new CapturingConsole();
        var app = SovereignServer.Build([.. args], builder =>
        {
            builder.Services.AddSingleton<IOperatorConsole>(console);
            if (inference is not null) builder.Services.AddSingleton(inference);
            configure?.Invoke(builder);
        });
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            if (ownsHome) TryDelete(home);
            throw;
        }
        var address = new Uri(app.Urls.Single().TrimEnd('/') + "/");
        return new TestHost(app, home, ownsHome, address, console);
    }

    /// <summary>An HttpClient for this server; with <paramref name="key"/> as Bearer when given.</summary>
    public HttpClient Client(string? key = null)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        _clients.Add(client);
        return client;
    }

    public HttpClient AdminClient() => Client(ConfiguredAdminKey);

    /// <summary>Creates a key through the admin API and returns (id, key).</summary>
    public async Task<(string Id, string Key)> CreateKeyAsync(string name, string scope = "inference", string adminKey = ConfiguredAdminKey)
    {
        using var response = await Client(adminKey).PostAsJsonAsync("admin/keys", new { name, scope });
        response.EnsureSuccessStatusCode();
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return (body["id"]!.GetValue<string>(), body["key"]!.GetValue<string>());
    }

    /// <summary>Imports the real tiny model into this server's data folder (as another process would).</summary>
    public Task<ModelManifest> ImportModelAsync(string name) =>
        new FileModelStore(Paths).ImportAsync(TestFiles.Stories260K, ModelName.Parse(name));

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients) client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsHome) TryDelete(Home);
    }

    public static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>Records what the server shows the operator instead of writing to the shared Console. Thread-safe.</summary>
internal sealed class CapturingConsole : IOperatorConsole
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines) return [.. _lines];
        }
    }

    public void WriteNotice(IReadOnlyList<string> lines)
    {
        lock (_lines) _lines.AddRange(lines);
    }
}

/// <summary>Finds the shared model files: ../shared/models beside the folder holding Sovereign.slnx.</summary>
internal static class TestFiles
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Stories260K => Path.Combine(RepoRoot, "..", "shared", "models", "stories260K.gguf");

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sovereign.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Sovereign.slnx not found above " + AppContext.BaseDirectory);
    }
}
