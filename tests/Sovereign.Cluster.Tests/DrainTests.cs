using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sovereign.Cluster.Tests.Support;

namespace Sovereign.Cluster.Tests;

/// <summary>The operator's view: status of every node from any node, and a drain that takes a node out.</summary>
[Collection(ClusterCollection.Name)]
public sealed class StatusAndDrainTests
{
    [Fact]
    public async Task Status_lists_every_node_with_its_loaded_models_and_a_drained_node_leaves_while_the_others_serve()
    {
        await using var cluster = await TestCluster.StartAsync([("a", true), ("b", true)]);
        var (a, b) = (cluster["a"], cluster["b"]);
        await b.Engine.LoadAsync(ClusterNode.Model);

        var status = await a.Http.GetFromJsonAsync<JsonObject>("admin/cluster");
        var nodes = status!["data"]!.AsArray();
        Assert.Equal(["a", "b"], nodes.Select(n => n!["name"]!.GetValue<string>()));
        Assert.All(nodes, n => Assert.Equal("active", n!["health"]!.GetValue<string>()));
        Assert.Equal(["stories:latest"], nodes[1]!["loaded"]!.AsArray().Select(m => m!["name"]!.GetValue<string>()));
        Assert.Empty(nodes[0]!["loaded"]!.AsArray());
        Assert.True(nodes[0]!["local"]!.GetValue<bool>());

        // Each node's own /health names it, unauthenticated, for operators and load balancers.
        using var anonymous = new HttpClient { BaseAddress = b.Http.BaseAddress };
        var health = (await anonymous.GetFromJsonAsync<JsonObject>("health"))!["node"]!;
        Assert.Equal(("b", false, 2), (health["name"]!.GetValue<string>(), health["draining"]!.GetValue<bool>(), health["members"]!.GetValue<int>()));

        using var drain = await a.Http.PostAsync("admin/cluster/nodes/b/drain", null);
        Assert.Equal(HttpStatusCode.Accepted, drain.StatusCode);
        Assert.Equal("draining", JsonNode.Parse(await drain.Content.ReadAsStringAsync())!["health"]!.GetValue<string>());
        Assert.True(await b.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the drained node did not leave");
        await cluster.WaitForMembersAsync(1);

        // b had the model loaded, but it has gone: a serves the request itself.
        Assert.NotEmpty(await a.CompleteAsync());
        Assert.Equal(1, a.Engine.RunnerStarts);

        using var unknown = await a.Http.PostAsync("admin/cluster/nodes/nope/drain", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}
