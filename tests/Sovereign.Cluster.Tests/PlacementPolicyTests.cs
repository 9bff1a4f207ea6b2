using Sovereign.Cluster.Routing;
using Sovereign.Cluster.Wire;

namespace Sovereign.Cluster.Tests;

public sealed class PlacementPolicyTests
{
    private const long GiB = 1L << 30;
    private static readonly HashSet<string> None = [];

    private static NodeReport Node(string id, long free = 8 * GiB, bool stored = true, int? depth = null, int slots = 4, bool draining = false) => new()
    {
        Id = id,
        Name = id,
        MemoryBudgetBytes = 16 * GiB,
        MemoryUsedBytes = 16 * GiB - free,
        Models = stored ? [new StoredModel("stories:latest", "sha256:abc", GiB)] : [],
        Loaded = depth is { } d ? [new LoadedModel("stories:latest", "sha256:abc", slots, d, GiB)] : [],
        Draining = draining,
    };

    [Fact]
    public void A_node_with_the_model_loaded_wins_over_one_with_it_only_in_store()
    {
        var placement = PlacementPolicy.Choose("stories", [Node("a", free: 15 * GiB), Node("b", depth: 1)], "a", None);
        Assert.Equal(("b", PlacementReason.Loaded), (placement!.Node.Id, placement.Reason));
    }

    [Fact]
    public void Among_loaded_copies_the_least_deep_queue_wins_and_the_local_node_breaks_ties()
    {
        Assert.Equal("c", PlacementPolicy.Choose("stories", [Node("b", depth: 2), Node("c", depth: 1)], "b", None)!.Node.Id);
        Assert.Equal("c", PlacementPolicy.Choose("stories", [Node("b", depth: 1), Node("c", depth: 1)], "c", None)!.Node.Id);
    }

    [Fact]
    public void When_every_loaded_copy_is_saturated_a_stored_copy_with_room_is_loaded()
    {
        var placement = PlacementPolicy.Choose("stories", [Node("b", depth: 4, slots: 4), Node("c")], "a", None);
        Assert.Equal(("c", PlacementReason.StoredWithRoom), (placement!.Node.Id, placement.Reason));
    }

    [Fact]
    public void A_stored_copy_without_room_comes_after_a_saturated_loaded_copy()
    {
        var placement = PlacementPolicy.Choose("stories", [Node("b", depth: 6, slots: 4), Node("c", free: 0)], "a", None);
        Assert.Equal(("b", PlacementReason.Loaded), (placement!.Node.Id, placement.Reason));
        Assert.Equal(("c", PlacementReason.Stored), (PlacementPolicy.Choose("stories", [Node("c", free: 0)], "a", None) is { } p ? (p.Node.Id, p.Reason) : default));
    }

    [Fact]
    public void When_no_node_that_stores_the_model_has_room_a_node_with_room_copies_it_the_local_node_first()
    {
        NodeReport[] nodes = [Node("a", free: 0), Node("b", stored: false, free: 4 * GiB), Node("c", stored: false, free: 12 * GiB)];

        var local = PlacementPolicy.Choose("stories", nodes, "b", None)!;
        Assert.Equal(("b", PlacementReason.CopyFromPeer, "a", "sha256:abc"), (local.Node.Id, local.Reason, local.Source!.Value.Node.Id, local.Source.Value.Model.Digest));
        var elsewhere = PlacementPolicy.Choose("stories", nodes, "x", None)!;
        Assert.Equal(("c", PlacementReason.CopyFromPeer, "a"), (elsewhere.Node.Id, elsewhere.Reason, elsewhere.Source!.Value.Node.Id));
    }

    [Fact]
    public void A_copy_goes_only_to_a_node_with_room_and_never_beats_a_loaded_copy()
    {
        var noRoom = PlacementPolicy.Choose("stories", [Node("a", free: 0), Node("b", stored: false, free: GiB / 2)], "b", None)!;
        Assert.Equal(("a", PlacementReason.Stored), (noRoom.Node.Id, noRoom.Reason));
        var saturated = PlacementPolicy.Choose("stories", [Node("a", free: 0, depth: 9), Node("b", stored: false)], "b", None)!;
        Assert.Equal(("a", PlacementReason.Loaded), (saturated.Node.Id, saturated.Reason));
        var draining = PlacementPolicy.Choose("stories", [Node("a", free: 0), Node("b", stored: false, draining: true)], "x", None)!;
        Assert.Equal(("a", PlacementReason.Stored), (draining.Node.Id, draining.Reason));
    }

    [Fact]
    public void Draining_and_failed_nodes_take_no_work_and_a_model_nowhere_has_no_placement()
    {
        Assert.Equal("c", PlacementPolicy.Choose("stories", [Node("b", depth: 0, draining: true), Node("c")], "a", None)!.Node.Id);
        Assert.Equal("c", PlacementPolicy.Choose("stories", [Node("b", depth: 0), Node("c")], "a", new HashSet<string> { "b" })!.Node.Id);
        Assert.Null(PlacementPolicy.Choose("stories", [Node("b", stored: false)], "a", None));
        Assert.Null(PlacementPolicy.Choose("other", [Node("b", depth: 0)], "a", None));
    }

    [Fact]
    public void Models_match_by_name_with_the_default_tag_or_by_digest()
    {
        Assert.True(PlacementPolicy.Matches("stories", "stories:latest", "sha256:abc"));
        Assert.True(PlacementPolicy.Matches("Stories:latest", "stories:latest", "sha256:abc"));
        Assert.True(PlacementPolicy.Matches("sha256:abc", "stories:latest", "sha256:abc"));
        Assert.False(PlacementPolicy.Matches("stories:v2", "stories:latest", "sha256:abc"));
    }

    [Fact]
    public void Every_turn_of_a_conversation_goes_to_the_same_loaded_node_while_it_has_a_free_slot()
    {
        NodeReport[] nodes = [Node("b", depth: 0), Node("c", depth: 0), Node("d", depth: 0)];
        var first = PlacementPolicy.Choose("stories", nodes, "a", None, "stories\nuser:Tell me a story")!.Node.Id;
        NodeReport[] busier = [.. nodes.Select(n => n.Id == first ? Node(first, depth: 3) : n)];
        Assert.Equal(first, PlacementPolicy.Choose("stories", busier, "a", None, "stories\nuser:Tell me a story")!.Node.Id);

        // Different conversations spread over the nodes rather than all landing on one.
        var spread = Enumerable.Range(0, 30).Select(i => PlacementPolicy.Choose("stories", nodes, "a", None, $"stories\nuser:story {i}")!.Node.Id).Distinct().Count();
        Assert.Equal(3, spread);
    }
}
