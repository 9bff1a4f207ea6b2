using System.Globalization;
using System.Text.Json;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;
using Xunit.Abstractions;

namespace Sovereign.Knowledge.Tests.Retrieval;

/// <summary>
/// Retrieval quality on the project's small labelled set (src/Sovereign.Bench/Workloads/recall-set.json, which `sov bench` also reports on): every passage indexed as one chunk
/// with the real MiniLM model, every question searched in each mode, recall@5 = the share of questions whose answering
/// passage is among the first five. Printed and written to recall-at-5.txt beside the test assembly; only sane floors
/// are asserted, since the figures are for reading, not for pinning.
/// </summary>
public sealed class RecallTests(ITestOutputHelper output) : IDisposable
{
    private readonly KnowledgeTestBed _bed = new();

    [Fact]
    public async Task Recall_at_5_on_the_labelled_set_for_vector_full_text_and_hybrid_search()
    {
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Retrieval", "recall-set.json")));
        var passages = json.RootElement.GetProperty("passages").EnumerateArray()
            .Select(p => (Id: p.GetProperty("id").GetString()!, Text: p.GetProperty("text").GetString()!)).ToList();
        var questions = json.RootElement.GetProperty("questions").EnumerateArray()
            .Select(q => (Text: q.GetProperty("q").GetString()!, Answer: q.GetProperty("answer").GetString()!)).ToList();

        // One document per passage, so a hit's document name is the passage's label.
        var kb = await _bed.Store.CreateBaseAsync("handbook", null, _bed.Embeddings.DefaultModel);
        var vectors = await _bed.Embeddings.EmbedAsync(null, [.. passages.Select(p => p.Text)]);
        for (var i = 0; i < passages.Count; i++)
        {
            var doc = await _bed.AddDocumentAsync(kb, passages[i].Id, "x"u8.ToArray());
            await _bed.Index.ReplaceDocumentAsync(kb.Id, doc.Id, [new IndexedChunk(0, passages[i].Text, null, [], vectors.Vectors[i])]);
        }

        var recall = new Dictionary<SearchMode, double>();
        foreach (var mode in new[] { SearchMode.Vector, SearchMode.FullText, SearchMode.Hybrid })
        {
            var found = 0;
            foreach (var (text, answer) in questions)
            {
                var hits = await _bed.Search.SearchAsync(new SearchQuery([kb.Name], text, TopK: 5, Mode: mode));
                if (hits.Any(h => h.DocumentName == answer)) found++;
            }
            recall[mode] = (double)found / questions.Count;
        }

        var report = string.Create(CultureInfo.InvariantCulture,
            $"recall@5 over {questions.Count} questions, {passages.Count} passages (all-minilm): vector {recall[SearchMode.Vector]:0.000}, fulltext {recall[SearchMode.FullText]:0.000}, hybrid {recall[SearchMode.Hybrid]:0.000}");
        output.WriteLine(report);
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, "recall-at-5.txt"), report + Environment.NewLine);

        Assert.True(recall[SearchMode.Vector] >= 0.6, report);
        Assert.True(recall[SearchMode.FullText] >= 0.4, report);
        Assert.True(recall[SearchMode.Hybrid] >= 0.6, report);
    }

    public void Dispose() => _bed.Dispose();
}
