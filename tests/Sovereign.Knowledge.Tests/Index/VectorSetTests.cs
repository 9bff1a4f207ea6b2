using Sovereign.Knowledge.Index;

namespace Sovereign.Knowledge.Tests.Index;

public sealed class VectorSetTests
{
    private static float[] RandomUnit(Random random, int dimensions)
    {
        var v = new float[dimensions];
        for (var i = 0; i < v.Length; i++) v[i] = (float)(random.NextDouble() * 2 - 1);
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        for (var i = 0; i < v.Length; i++) v[i] /= norm;
        return v;
    }

    [Fact]
    public void Search_returns_exactly_the_best_k_by_dot_product_best_first()
    {
        var random = new Random(7);
        var set = new VectorSet();
        var vectors = Enumerable.Range(0, 2_000).Select(_ => RandomUnit(random, 64)).ToArray();
        for (var i = 0; i < vectors.Length; i++) set.Add(i, $"doc{i % 10}", vectors[i]);
        var query = RandomUnit(random, 64);

        var expected = vectors.Select((v, i) => (Key: (long)i, Score: v.Zip(query, (a, b) => (double)a * b).Sum()))
            .OrderByDescending(x => x.Score).Take(10).ToList();
        var found = set.Search(query, 10, null);

        Assert.Equal(expected.Select(e => e.Key), found.Select(f => f.Key));
        for (var i = 0; i < found.Count; i++) Assert.Equal(expected[i].Score, found[i].Score, 4);
    }

    [Fact]
    public void Search_with_a_document_filter_only_returns_that_documents_vectors()
    {
        var random = new Random(1);
        var set = new VectorSet();
        for (var i = 0; i < 300; i++) set.Add(i, $"doc{i % 3}", RandomUnit(random, 16));

        var found = set.Search(RandomUnit(random, 16), 50, new HashSet<string> { "doc1" });

        Assert.Equal(50, found.Count);
        Assert.All(found, f => Assert.Equal(1, f.Key % 3));
    }

    [Fact]
    public void Removing_a_document_leaves_the_others_searchable_and_intact()
    {
        var random = new Random(3);
        var set = new VectorSet();
        var vectors = Enumerable.Range(0, 100).Select(_ => RandomUnit(random, 8)).ToArray();
        for (var i = 0; i < vectors.Length; i++) set.Add(i, i < 50 ? "a" : "b", vectors[i]);

        Assert.Equal(50, set.RemoveDocument("a"));

        Assert.Equal(50, set.Count);
        // Each remaining vector is still found as its own nearest neighbour (its data moved with its key).
        for (var i = 50; i < 100; i += 7) Assert.Equal(i, set.Search(vectors[i], 1, null)[0].Key);
    }

    [Fact]
    public void A_query_of_other_dimensions_is_refused_clearly()
    {
        var set = new VectorSet();
        set.Add(1, "a", [1f, 0f, 0f]);
        var e = Assert.Throws<Core.Errors.SovereignException>(() => set.Search(new float[4], 1, null));
        Assert.Equal("embedding_dimensions_mismatch", e.Code);
    }
}
