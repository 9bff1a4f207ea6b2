using Sovereign.Bench.Hosting;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Sovereign.Core.Options;
using Sovereign.Models.Store;

namespace Sovereign.Cluster.Tests.Support;

/// <summary>A `sov serve` process in a cluster on 127.0.0.1, as an operator runs one; stopped (or killed) by its PID.</summary>
internal sealed class SovNode : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _home;
    private readonly StringBuilder _log = new();

    private SovNode(Process process, string name, string home, string url)
    {
        _process = process;
        Name = name;
        _home = home;
        Url = url;
        Http = new HttpClient { BaseAddress = new Uri(url + "/"), Timeout = TimeSpan.FromMinutes(1) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterNode.AdminKey);
        process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }
    public string Url { get; }
    public HttpClient Http { get; }

    public bool HasExited => _process.HasExited;

    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var apphost = Path.Combine(AppContext.BaseDirectory, "sov");
        var psi = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "sov.dll") } };
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        psi.Environment["COLUMNS"] = "240";
        psi.Environment["NO_COLOR"] = "1";
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("SOV_", StringComparison.Ordinal) || k == "ASPNETCORE_URLS").ToList())
            psi.Environment.Remove(key);
        return psi;
    }

    public static async Task<SovNode> StartAsync(string name, string redis, bool withModel, string? database = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var home = Path.Combine(Path.GetTempPath(), $"sov-mp-{name}-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(home);
        if (withModel) await new FileModelStore(new SovereignPaths(home)).ImportAsync(TestModels.Stories260K, ModelName.Parse(ClusterNode.Model));
        var url = $"http://127.0.0.1:{RedisProcess.FreePort()}";
        var psi = StartInfo("serve", "--urls", url, "--Sovereign:Engine:Slots=2", "--Sovereign:Engine:ContextSize=512", "--Sovereign:Engine:Threads=1",
            "--Logging:LogLevel:Default=Warning", "--parent-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        psi.Environment["SOV_HOME"] = home;
        psi.Environment["SOV_ADMIN_KEY"] = ClusterNode.AdminKey;
        psi.Environment["SOV_CLUSTER_REDIS"] = redis;
        psi.Environment["SOV_CLUSTER_SECRET"] = ClusterNode.Secret;
        psi.Environment["SOV_CLUSTER_PORT"] = RedisProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["SOV_CLUSTER_NODE_NAME"] = name;
        if (database is not null) psi.Environment["SOV_DATABASE"] = database;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) psi.Environment[key] = value;
        var node = new SovNode(Process.Start(psi)!, name, home, url);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            try
            {
                using var health = await node.Http.GetAsync("health");
                if (health.IsSuccessStatusCode) return node;
            }
            catch (HttpRequestException)
            {
            }
            if (node._process.HasExited || DateTime.UtcNow > deadline)
            {
                await node.DisposeAsync();
                throw new InvalidOperationException($"sov serve ({name}) did not start:\n{node.Log}");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// The node's last log lines (warnings and up), for a failed request's message: routing says there which nodes it
    /// tried and why each was left out, which a status code alone cannot.
    /// </summary>
    private string LogTail(int lines = 60)
    {
        var all = Log.Split('\n');
        return $"\n--- last {Math.Min(lines, all.Length)} log lines of node {Name} ---\n{string.Join('\n', all.TakeLast(lines))}";
    }

    private string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    public async Task WaitForMembersAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await Http.GetFromJsonAsync<JsonObject>("admin/cluster"))!["data"]!.AsArray().Count(n => n!["health"]!.GetValue<string>() == "active") != count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{count} nodes did not become active");
            await Task.Delay(200);
        }
    }

    public async Task<string> CompleteAsync(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = JsonContent.Create(new { model = ClusterNode.Model, prompt = "Once upon a time", max_tokens = 24, temperature = 0 }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}{LogTail()}");
        return JsonNode.Parse(body)!["choices"]![0]!["text"]!.GetValue<string>();
    }

    /// <summary>The same completion, streamed; returns the text the chunks add up to.</summary>
    public async Task<string> StreamAsync(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = JsonContent.Create(new { model = ClusterNode.Model, prompt = "Once upon a time", max_tokens = 24, temperature = 0, stream = true }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}{LogTail()}");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]") continue;
            text.Append(JsonNode.Parse(line["data: ".Length..])!["choices"]?[0]?["text"]?.GetValue<string>());
        }
        return text.ToString();
    }

    public async Task<(string Id, string Key)> CreateLimitedKeyAsync()
    {
        using var created = await Http.PostAsJsonAsync("admin/keys", new { name = "metered", scope = "inference" });
        var body = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        Assert.True(created.IsSuccessStatusCode, body.ToJsonString());
        var id = body["id"]!.GetValue<string>();
        using var limited = await Http.PutAsJsonAsync($"admin/keys/{id}/limits", new { tokens_per_day = 1_000_000 });
        Assert.True(limited.IsSuccessStatusCode, await limited.Content.ReadAsStringAsync());
        return (id, body["key"]!.GetValue<string>());
    }

    public async Task<List<string>> NodesWithLoadedModelAsync()
    {
        var nodes = (await Http.GetFromJsonAsync<JsonObject>("admin/cluster"))!["data"]!.AsArray();
        return [.. nodes.Where(n => n!["loaded"] is JsonArray { Count: > 0 }).Select(n => n!["name"]!.GetValue<string>())];
    }

    /// <summary>SIGKILL: no goodbye to the cluster.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit(10_000);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
