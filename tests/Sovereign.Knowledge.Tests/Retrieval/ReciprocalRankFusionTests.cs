using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Retrieval;

namespace Sovereign.Knowledge.Tests.Retrieval;

public sealed class ReciprocalRankFusionTests
{
    [Fact]
    public void Items_found_by_both_lists_outrank_items_found_by_one_even_when_first_there()
    {
        IReadOnlyList<ChunkMatch> fullText = [new(1, 9), new(2, 8), new(3, 7)];
        IReadOnlyList<ChunkMatch> vector = [new(4, 0.9), new(2, 0.8), new(1, 0.1)];

        var fused = ReciprocalRankFusion.Fuse([fullText, vector], 10);

        Assert.Equal([1L, 2L, 4L, 3L], fused.Select(f => f.Key));
        Assert.Equal((1.0 / 61) + (1.0 / 63), fused[0].Score, 10);
        Assert.Equal(1.0 / 61, fused[2].Score, 10);
    }

    [Fact]
    public void Fusion_returns_at_most_the_limit()
    {
        IReadOnlyList<ChunkMatch> list = [.. Enumerable.Range(0, 50).Select(i => new ChunkMatch(i, 50 - i))];
        Assert.Equal(5, ReciprocalRankFusion.Fuse([list], 5).Count);
    }
}
