using System.Globalization;
using System.Security.Cryptography;
using Sovereign.Bench.Driver;
using Sovereign.Bench.Hosting;
using Sovereign.Bench.Reporting;
using Sovereign.Bench.Stats;
using Sovereign.Core.Options;
using Sovereign.Models.Store;

namespace Sovereign.Bench.Workloads;

/// <summary>
/// What a second node costs a request: a Redis for membership and two real <c>sov serve</c> nodes on 127.0.0.1. The
/// "serving" node stores and loads the model; the "entry" node does not, so everything sent to it crosses to the
/// serving node through Orleans and streams back. The same greedy request goes to each in turn, alternating which goes
/// first, and the report states the entry node's time to first token and decode rate as ratios to the serving node's.
/// </summary>
public static class ClusterWorkload
{
    private static readonly TimeSpan MembershipTimeout = TimeSpan.FromSeconds(60);

    public static async Task<ClusterReport> RunAsync(string modelPath, string modelName, IReadOnlyList<string> serverArguments, int rounds, int tokens,
        string prompt, BenchClock clock, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        if (RedisProcess.Locate() is null) return ClusterReport.NotAvailable("redis-server is not installed (Debian package redis-server), so no cluster can be formed.");

        await using var redis = await RedisProcess.StartAsync(cancellationToken).ConfigureAwait(false);
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        string[] Node(string name) =>
        [
            .. serverArguments, $"--Sovereign:ClusterRedis={redis.Endpoint}", $"--Sovereign:ClusterSecret={secret}",
            $"--Sovereign:ClusterPort={RedisProcess.FreePort().ToString(CultureInfo.InvariantCulture)}", $"--Sovereign:ClusterNodeName={name}",
        ];

        var serving = await SovereignServerProcess.StartAsync(Node("serving"), cancellationToken).ConfigureAwait(false);
        await using (serving.ConfigureAwait(false))
        {
            await new FileModelStore(new SovereignPaths(serving.Home)).ImportAsync(modelPath, ModelName.Parse(modelName), cancellationToken: cancellationToken).ConfigureAwait(false);
            var entry = await SovereignServerProcess.StartAsync(Node("entry"), cancellationToken).ConfigureAwait(false);
            await using (entry.ConfigureAwait(false))
            {
                using var local = new OpenAiStreamClient(serving.Url, serving.AdminKey, clock);
                using var remote = new OpenAiStreamClient(entry.Url, entry.AdminKey, clock);
                await WaitForMembersAsync(remote, 2, cancellationToken).ConfigureAwait(false);
                await WaitForMembersAsync(local, 2, cancellationToken).ConfigureAwait(false);

                var call = new CompletionCall(modelName, prompt, tokens);
                var errors = new List<string>();
                // Warm-up: the serving node loads the model; the entry node learns where it is.
                foreach (var client in new[] { local, remote })
                {
                    var warm = await client.CompleteAsync(call, cancellationToken).ConfigureAwait(false);
                    if (!warm.Succeeded) errors.Add($"warm-up through {(client == local ? "serving" : "entry")}: {warm.Error ?? "no text"}");
                }

                List<StreamTrace> localRuns = [], remoteRuns = [];
                for (var round = 0; round < rounds; round++)
                {
                    var order = round % 2 == 0 ? new[] { (local, localRuns), (remote, remoteRuns) } : [(remote, remoteRuns), (local, localRuns)];
                    foreach (var (client, runs) in order)
                    {
                        var trace = await client.CompleteAsync(call, cancellationToken).ConfigureAwait(false);
                        if (trace.Succeeded) runs.Add(trace);
                        else errors.Add($"round {round + 1}: {trace.Error ?? "no text"}");
                    }
                }

                var localTtft = Summary.Of([.. localRuns.Select(t => t.TtftSeconds!.Value * 1000)]);
                var remoteTtft = Summary.Of([.. remoteRuns.Select(t => t.TtftSeconds!.Value * 1000)]);
                var localDecode = Summary.Of([.. localRuns.Select(t => t.DecodeTokensPerSecond).OfType<double>()]);
                var remoteDecode = Summary.Of([.. remoteRuns.Select(t => t.DecodeTokensPerSecond).OfType<double>()]);
                return new ClusterReport
                {
                    Status = localRuns.Count > 0 && remoteRuns.Count > 0 ? "measured" : "failed",
                    Model = modelName,
                    Rounds = rounds,
                    Tokens = tokens,
                    LocalTtftMs = localTtft,
                    RemoteTtftMs = remoteTtft,
                    LocalDecodeTokensPerSecond = localDecode,
                    RemoteDecodeTokensPerSecond = remoteDecode,
                    TtftRatioRemoteOverLocal = Statistics.Ratio(remoteTtft?.P50, localTtft?.P50),
                    DecodeRatioRemoteOverLocal = Statistics.Ratio(remoteDecode?.P50, localDecode?.P50),
                    Errors = errors,
                };
            }
        }
    }

    /// <summary>Bounded wait until the node's <c>GET /admin/cluster</c> lists <paramref name="count"/> active members.</summary>
    private static async Task WaitForMembersAsync(OpenAiStreamClient client, int count, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + MembershipTimeout;
        while (true)
        {
            var status = await client.TryGetJsonAsync("admin/cluster", cancellationToken).ConfigureAwait(false);
            var members = status?["data"]?.AsArray().Count(n => (string?)n?["health"] == "active") ?? 0;
            if (members >= count) return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The node at {client.BaseAddress} did not see {count} cluster members within {MembershipTimeout.TotalSeconds:0} s (it answered {status?.ToJsonString() ?? "nothing"}).");
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }
}
