using Sovereign.Knowledge.Index;

namespace Sovereign.Knowledge.Retrieval;

/// <summary>
/// Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009): each list gives an item 1 / (k + rank), rank from 1, and
/// the sums decide. It needs no calibration between BM25 and cosine scores, which live on different scales. Pure.
/// </summary>
public static class ReciprocalRankFusion
{
    /// <summary>The constant of the paper; it damps the weight of the very top ranks.</summary>
    public const int K = 60;

    public static IReadOnlyList<ChunkMatch> Fuse(IReadOnlyList<IReadOnlyList<ChunkMatch>> rankings, int limit)
    {
        var scores = new Dictionary<long, double>();
        var firstSeen = new Dictionary<long, int>();
        var order = 0;
        foreach (var ranking in rankings)
        {
            for (var rank = 0; rank < ranking.Count; rank++)
            {
                var key = ranking[rank].Key;
                scores[key] = scores.GetValueOrDefault(key) + (1.0 / (K + rank + 1));
                firstSeen.TryAdd(key, order++);
            }
        }
        // Ties (the same ranks in different lists) keep a stable order: the item seen first wins.
        return [.. scores.OrderByDescending(s => s.Value).ThenBy(s => firstSeen[s.Key]).Take(limit).Select(s => new ChunkMatch(s.Key, s.Value))];
    }
}
