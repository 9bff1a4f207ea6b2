using Sovereign.Bench.Hosting;

namespace Sovereign.Cluster.Tests.Support;

/// <summary>Real-cluster tests share the machine's cores and ports; they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "cluster";
}

/// <summary>
/// A Redis and several nodes in this process. Every node has its own store: <c>withModel[i]</c> says whether node i
/// has the test model. Started nodes are waited for until each sees all the others as active members.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private TestCluster(RedisProcess redis, List<ClusterNode> nodes)
    {
        Redis = redis;
        Nodes = nodes;
    }

    public RedisProcess Redis { get; }
    public List<ClusterNode> Nodes { get; }

    public ClusterNode this[string name] => Nodes.Single(n => n.Name == name);

    public static Task<TestCluster> StartAsync(IReadOnlyList<(string Name, bool WithModel)> nodes, params string[] settings) =>
        StartAsync([.. nodes.Select(n => (n.Name, n.WithModel, settings))]);

    /// <summary>As above, with settings of each node's own (a memory budget, say).</summary>
    public static async Task<TestCluster> StartAsync(IReadOnlyList<(string Name, bool WithModel, string[] Settings)> nodes)
    {
        var redis = await RedisProcess.StartAsync(CancellationToken.None);
        var started = new List<ClusterNode>();
        try
        {
            foreach (var (name, withModel, settings) in nodes)
                started.Add(await ClusterNode.StartAsync(name, redis.Endpoint, withModel, settings));
            var cluster = new TestCluster(redis, started);
            await cluster.WaitForMembersAsync(nodes.Count);
            return cluster;
        }
        catch
        {
            foreach (var node in started) await node.DisposeAsync();
            await redis.DisposeAsync();
            throw;
        }
    }

    /// <summary>Bounded wait until every running node sees <paramref name="count"/> active members.</summary>
    public async Task WaitForMembersAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Nodes.Where(n => n.Running).Any(n => n.Directory.Members().Count != count))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The nodes did not all see {count} members: "
                    + string.Join(", ", Nodes.Where(n => n.Running).Select(n => $"{n.Name} sees {n.Directory.Members().Count}")));
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Nodes before Redis, each stopped by its own handle.
        await Task.WhenAll(Nodes.Select(n => n.DisposeAsync().AsTask()));
        await Redis.DisposeAsync();
    }
}
