using Sovereign.Bench.Hosting;
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
        var redis = await RedisProcess.StartAsync(CancellationToken.None);
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
}
