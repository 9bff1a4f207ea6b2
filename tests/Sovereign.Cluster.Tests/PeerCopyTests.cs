using Microsoft.Extensions.DependencyInjection;
using Sovereign.Cluster.Nodes;
using Sovereign.Cluster.Tests.Support;
using Sovereign.Models.Store;

namespace Sovereign.Cluster.Tests;

/// <summary>A model stored only where it cannot run is copied, over the cluster's own connection, to a node that can.</summary>
[Collection(ClusterCollection.Name)]
public sealed class PeerCopyTests
{
    // One byte of budget: the node keeps the model in its store but can never load it.
    private static readonly string[] NoRoom = ["--Sovereign:Engine:MemoryBudget=1"];

    [Fact]
    public async Task A_node_with_room_copies_the_model_from_a_peer_that_has_none_and_serves_it_verified()
    {
        await using var cluster = await TestCluster.StartAsync([("a", true, NoRoom), ("b", false, []), ("c", false, NoRoom)]);
        var (a, b, c) = (cluster["a"], cluster["b"], cluster["c"]);
        var digest = a.Services.GetRequiredService<IModelStore>().Find(ClusterNode.Model)!.Digest;

        // Enters c (no copy, no room): a stores it but cannot run it, so b, the one node with room, copies it from a.
        var text = await c.CompleteAsync();
        Assert.Contains("Lily", text, StringComparison.Ordinal);
        Assert.Equal(digest, b.Services.GetRequiredService<IModelStore>().Find(ClusterNode.Model)?.Digest);
        Assert.Equal((0, 1, 0), (Copies(a), Copies(b), Copies(c)));
        Assert.Equal((0, 1, 0), (a.Engine.RunnerStarts, b.Engine.RunnerStarts, c.Engine.RunnerStarts));
        Assert.Null(c.Services.GetRequiredService<IModelStore>().Find(ClusterNode.Model));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(b.Home, "models", "incoming")));

        // Now b has it loaded: the next request, through a this time, runs there with no second copy.
        Assert.Equal(text, await a.CompleteAsync());
        Assert.Equal((0, 1, 0), (Copies(a), Copies(b), Copies(c)));
    }

    private static int Copies(ClusterNode node) => node.Services.GetRequiredService<PeerModelCopier>().Copied;
}
