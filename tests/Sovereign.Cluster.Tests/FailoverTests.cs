using Sovereign.Cluster.Tests.Support;

namespace Sovereign.Cluster.Tests;

/// <summary>Nodes that are lost: the client should not notice when it happens before its first token.</summary>
[Collection(ClusterCollection.Name)]
public sealed class FailoverTests
{
    [Fact]
    public async Task A_request_routed_to_a_node_that_died_before_its_first_token_is_served_by_another_node_unnoticed()
    {
        // Advertisements are kept for minutes, so the entry node still believes the dead node has the model loaded:
        // the request really is sent to the dead node first, and must be moved.
        await using var cluster = await TestCluster.StartAsync([("a", false), ("b", true), ("c", true)], "--Sovereign:ClusterReportLifetime=00:10:00");
        var (a, b, c) = (cluster["a"], cluster["b"], cluster["c"]);
        await b.Engine.LoadAsync(ClusterNode.Model);
        var before = await a.CompleteAsync();
        Assert.Equal((1, 0), (b.Engine.RunnerStarts, c.Engine.RunnerStarts));

        await b.KillAsync();
        var after = await a.CompleteAsync();

        Assert.Equal(before, after);
        Assert.Equal(1, c.Engine.RunnerStarts);
        Assert.Equal(0, a.Engine.RunnerStarts);
        Assert.Equal(1, a.Router.Failovers);
    }
}
