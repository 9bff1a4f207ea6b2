using System.IO.Hashing;
using System.Text;
using Sovereign.Cluster.Wire;
using Sovereign.Models.Store;

namespace Sovereign.Cluster.Routing;

/// <summary>Where a request went and why, for logs and tests.</summary>
public enum PlacementReason
{
    /// <summary>The node has the model loaded.</summary>
    Loaded,
    /// <summary>The node has the model in its store and room in its memory budget to load it.</summary>
    StoredWithRoom,
    /// <summary>The node has the model in its store but must unload idle models (or refuse) to load it.</summary>
    Stored,
    /// <summary>No node that stores the model has room: this node, which has, copies it from a peer first.</summary>
    CopyFromPeer,
}

/// <param name="Source">For <see cref="PlacementReason.CopyFromPeer"/>: the node to copy from, and its copy of the model.</param>
public sealed record Placement(NodeReport Node, PlacementReason Reason, (NodeReport Node, StoredModel Model)? Source = null);

/// <summary>
/// Picks the node for a request from the nodes' advertisements. Pure: no I/O, no clock, so every rule is testable.
/// <list type="number">
/// <item>Nodes that are draining or already failed this request are left out.</item>
/// <item>A node with the model loaded and a free slot wins. Among several, a chat's follow-up turns go to the same node
/// (rendezvous hashing of the conversation's opening, so its prompt prefix is still in that node's cache);
/// other requests go to the least deep queue. The local node wins ties (no network hop).</item>
/// <item>Else, if every loaded copy is saturated or there is none: a node with the model in its store and room to
/// load it (the most free memory first), then the least deep loaded queue.</item>
/// <item>Else, when no node that stores it has room: a node with room copies it from one that stores it (this node
/// first, then the most free memory), then loads it. Only when no node has room either: any node that stores it.</item>
/// </list>
/// </summary>
public static class PlacementPolicy
{
    public static Placement? Choose(string model, IReadOnlyList<NodeReport> nodes, string localId, IReadOnlySet<string> excluded, string? affinityKey = null)
    {
        // :: Step 1: who may take work.
        var usable = nodes.Where(n => !n.Draining && !excluded.Contains(n.Id)).ToList();

        // :: Step 2: loaded copies with a free slot.
        var loaded = usable
            .Select(n => (Node: n, Copy: n.Loaded.FirstOrDefault(m => Matches(model, m.Reference, m.Digest))))
            .Where(x => x.Copy is not null)
            .ToList();
        var free = loaded.Where(x => x.Copy!.Depth < Math.Max(1, x.Copy.Slots)).ToList();
        if (free.Count > 0)
        {
            var best = affinityKey is null
                ? free.OrderBy(x => x.Copy!.Depth).ThenBy(x => x.Node.Id == localId ? 0 : 1).ThenBy(x => x.Node.Id, StringComparer.Ordinal).First()
                : free.OrderByDescending(x => Score(affinityKey, x.Node.Id)).First();
            return new Placement(best.Node, PlacementReason.Loaded);
        }

        // :: Step 3: a stored copy with room, else the shortest saturated queue, else any stored copy.
        var stored = usable
            .Select(n => (Node: n, Copy: n.Models.FirstOrDefault(m => Matches(model, m.Reference, m.Digest))))
            .Where(x => x.Copy is not null && !loaded.Any(l => l.Node.Id == x.Node.Id))
            .ToList();
        var withRoom = stored
            .Where(x => x.Node.MemoryFreeBytes >= x.Copy!.SizeBytes)
            .OrderByDescending(x => x.Node.MemoryFreeBytes)
            .ThenBy(x => x.Node.InFlight)
            .ThenBy(x => x.Node.Id == localId ? 0 : 1)
            .FirstOrDefault();
        if (withRoom.Node is not null) return new Placement(withRoom.Node, PlacementReason.StoredWithRoom);
        if (loaded.Count > 0)
            return new Placement(loaded.OrderBy(x => x.Copy!.Depth - x.Copy.Slots).ThenBy(x => x.Node.Id == localId ? 0 : 1).First().Node, PlacementReason.Loaded);

        // :: Step 4: copy to a node with room.
        var source = stored.OrderBy(x => x.Node.InFlight).ThenBy(x => x.Node.Id, StringComparer.Ordinal).FirstOrDefault();
        if (source.Node is not null)
        {
            var target = usable
                .Where(n => n.Id != source.Node.Id && !n.Models.Any(m => Matches(model, m.Reference, m.Digest)) && n.MemoryFreeBytes >= source.Copy!.SizeBytes)
                .OrderBy(n => n.Id == localId ? 0 : 1)
                .ThenByDescending(n => n.MemoryFreeBytes)
                .ThenBy(n => n.Id, StringComparer.Ordinal)
                .FirstOrDefault();
            if (target is not null) return new Placement(target, PlacementReason.CopyFromPeer, (source.Node, source.Copy!));
        }
        var any = stored.OrderBy(x => x.Node.InFlight).ThenBy(x => x.Node.Id == localId ? 0 : 1).FirstOrDefault();
        return any.Node is null ? null : new Placement(any.Node, PlacementReason.Stored);
    }

    /// <summary>Whether a request's model reference names a stored or loaded model: by name[:tag] or by digest.</summary>
    public static bool Matches(string requested, string reference, string digest)
    {
        if (string.Equals(requested, digest, StringComparison.OrdinalIgnoreCase)) return true;
        if (digest.StartsWith("sha256:", StringComparison.Ordinal) && string.Equals(requested, digest["sha256:".Length..], StringComparison.OrdinalIgnoreCase)) return true;
        return ModelName.TryParse(requested, out var name) && string.Equals(name.ToString(), reference, StringComparison.OrdinalIgnoreCase);
    }

    private static ulong Score(string key, string node) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(key + "\n" + node));
}
