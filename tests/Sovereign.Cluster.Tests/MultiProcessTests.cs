using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Sovereign.Cluster.Tests.Support;
using Sovereign.Core.Options;
using Sovereign.Models.Store;
using Sovereign.TestSupport.Postgres;
using Npgsql;
using Xunit.Abstractions;

namespace Sovereign.Cluster.Tests;

/// <summary>
/// Three `sov serve` processes, a Redis and a PostgreSQL on 127.0.0.1, as an operator runs them: a client streams through
/// node A from node B (the only one with the model loaded), B dies by SIGKILL, the next request is served by C, and the
/// usage rows and token counters in PostgreSQL account for every request, whichever node served it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MultiProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_node_killed_with_SIGKILL_is_replaced_by_another_for_the_next_request_and_sov_cluster_status_shows_the_nodes()
    {
        var redis = await RedisServer.StartAsync();
        var postgres = await PostgresInstance.StartAsync();
        var nodes = new List<SovNode>();
        try
        {
            var database = await postgres.CreateDatabaseAsync();
            var starting = new[] { ("a", false), ("b", true), ("c", true) }.Select(n => SovNode.StartAsync(n.Item1, redis.Endpoint, n.Item2, database)).ToList();
            try
            {
                await Task.WhenAll(starting);
            }
            finally
            {
                nodes.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
            }
            var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
            var clock = Stopwatch.StartNew();
            await a.WaitForMembersAsync(3);
            output.WriteLine($"members after {clock.Elapsed}");

            // Load on b only (Ollama's empty-prompt load runs on the node it is sent to), then ask a.
            using (var load = await b.Http.PostAsJsonAsync("api/generate", new { model = ClusterNode.Model, prompt = "" }))
                Assert.True(load.IsSuccessStatusCode, await load.Content.ReadAsStringAsync());
            // A key with a daily token limit, made on a and valid on every node: keys and counters live in PostgreSQL.
            var (keyId, key) = await a.CreateLimitedKeyAsync();
            var first = await a.CompleteAsync(key);
            Assert.Contains("Lily", first, StringComparison.Ordinal);
            Assert.Equal(["b"], await a.NodesWithLoadedModelAsync());
            Assert.Equal(first, await a.StreamAsync(key));

            var status = await Sov(a, "cluster", "status");
            Assert.True(status.ExitCode == 0, status.Output);
            foreach (var name in new[] { "a", "b", "c" }) Assert.Contains(name, status.Stdout, StringComparison.Ordinal);
            Assert.Contains("stories:latest (0/2)", status.Stdout, StringComparison.Ordinal);

            output.WriteLine($"status after {clock.Elapsed}");
            b.Kill();
            Assert.Equal(first, await a.CompleteAsync(key));
            output.WriteLine($"failover after {clock.Elapsed}");
            Assert.Contains("c", await a.NodesWithLoadedModelAsync());

            // Usage and quota in the shared database: one row per request (before and after the kill), and the key's
            // daily counter holds exactly the tokens those rows record.
            await using (var connection = new NpgsqlConnection(database))
            {
                await connection.OpenAsync();
                await using var usage = new NpgsqlCommand("SELECT count(*), coalesce(sum(prompt_tokens + completion_tokens), 0) FROM usage_records WHERE key_id = @k AND outcome IN ('stop', 'length')", connection);
                usage.Parameters.AddWithValue("k", keyId);
                await using var rows = await usage.ExecuteReaderAsync();
                Assert.True(await rows.ReadAsync());
                var (requests, tokens) = (rows.GetInt64(0), rows.GetInt64(1));
                await rows.DisposeAsync();
                Assert.Equal(3, requests);
                await using var counter = new NpgsqlCommand("SELECT coalesce(sum(tokens), 0) FROM token_counters WHERE subject = @s AND period LIKE 'd:%'", connection);
                counter.Parameters.AddWithValue("s", "key:" + keyId);
                Assert.Equal(tokens, Convert.ToInt64(await counter.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
            }

            var unknown = await Sov(a, "cluster", "drain", "nope");
            Assert.NotEqual(0, unknown.ExitCode);
            Assert.Contains("nope", unknown.Output, StringComparison.Ordinal);
            output.WriteLine($"done after {clock.Elapsed}");
        }
        finally
        {
            // Nodes before Redis and PostgreSQL, each by its PID.
            foreach (var node in nodes) await node.DisposeAsync();
            await redis.DisposeAsync();
            await postgres.DisposeAsync();
        }
    }

    private static async Task<(int ExitCode, string Stdout, string Output)> Sov(SovNode node, params string[] args)
    {
        var psi = SovNode.StartInfo(args);
        psi.Environment["SOV_URL"] = node.Url;
        psi.Environment["SOV_API_KEY"] = ClusterNode.AdminKey;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stdout + await stderr);
    }

    private sealed class SovNode : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _home;
        private readonly StringBuilder _log = new();

        private SovNode(Process process, string home, string url)
        {
            _process = process;
            _home = home;
            Url = url;
            Http = new HttpClient { BaseAddress = new Uri(url + "/"), Timeout = TimeSpan.FromMinutes(1) };
            Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterNode.AdminKey);
            process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Url { get; }
        public HttpClient Http { get; }

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

        public static async Task<SovNode> StartAsync(string name, string redis, bool withModel, string database)
        {
            var home = Path.Combine(Path.GetTempPath(), $"sov-mp-{name}-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(home);
            if (withModel) await new FileModelStore(new SovereignPaths(home)).ImportAsync(TestModels.Stories260K, ModelName.Parse(ClusterNode.Model));
            var url = $"http://127.0.0.1:{RedisServer.FreePort()}";
            var psi = StartInfo("serve", "--urls", url, "--Sovereign:Engine:Slots=2", "--Sovereign:Engine:ContextSize=512", "--Sovereign:Engine:Threads=1",
                "--Logging:LogLevel:Default=Warning");
            psi.Environment["SOV_HOME"] = home;
            psi.Environment["SOV_ADMIN_KEY"] = ClusterNode.AdminKey;
            psi.Environment["SOV_CLUSTER_REDIS"] = redis;
            psi.Environment["SOV_CLUSTER_SECRET"] = ClusterNode.Secret;
            psi.Environment["SOV_CLUSTER_PORT"] = RedisServer.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
            psi.Environment["SOV_CLUSTER_NODE_NAME"] = name;
            psi.Environment["SOV_DATABASE"] = database;
            var node = new SovNode(Process.Start(psi)!, home, url);
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
            Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
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
            Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
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
}
