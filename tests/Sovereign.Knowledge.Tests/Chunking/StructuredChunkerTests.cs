using Sovereign.Knowledge.Chunking;
using Sovereign.Knowledge.Extraction;

namespace Sovereign.Knowledge.Tests.Chunking;

public sealed class StructuredChunkerTests
{
    private static readonly StructuredChunker Chunker = new(new WordCounter());

    [Fact]
    public void Each_chunk_knows_its_heading_path_and_a_section_opens_with_its_heading()
    {
        var document = Document(
            new TextBlock(BlockKind.Heading, "Handbook", HeadingLevel: 1),
            new TextBlock(BlockKind.Paragraph, "Intro text."),
            new TextBlock(BlockKind.Heading, "Dosage", HeadingLevel: 2),
            new TextBlock(BlockKind.Paragraph, "Adults take two."),
            new TextBlock(BlockKind.Heading, "Storage", HeadingLevel: 2),
            new TextBlock(BlockKind.Paragraph, "Keep it cool."));

        var chunks = Chunker.Chunk(document, new ChunkingOptions(MaxTokens: 50, OverlapTokens: 5));

        Assert.Equal(3, chunks.Count);
        Assert.Equal(["Handbook"], chunks[0].HeadingPath);
        Assert.Equal("Handbook\n\nIntro text.", chunks[0].Text);
        Assert.Equal(["Handbook", "Dosage"], chunks[1].HeadingPath);
        Assert.Equal("Dosage\n\nAdults take two.", chunks[1].Text);
        Assert.Equal(["Handbook", "Storage"], chunks[2].HeadingPath);
        Assert.Equal([0, 1, 2], chunks.Select(c => c.Index));
    }

    [Fact]
    public void A_new_page_starts_a_new_chunk_that_carries_its_page()
    {
        var document = Document(
            new TextBlock(BlockKind.Paragraph, "On page one.", Page: 1),
            new TextBlock(BlockKind.Paragraph, "Also page one.", Page: 1),
            new TextBlock(BlockKind.Paragraph, "On page two.", Page: 2));

        var chunks = Chunker.Chunk(document, new ChunkingOptions(MaxTokens: 100, OverlapTokens: 10));

        Assert.Equal(2, chunks.Count);
        Assert.Equal((1, "On page one.\n\nAlso page one."), (chunks[0].Page!.Value, chunks[0].Text));
        Assert.Equal((2, "On page two."), (chunks[1].Page!.Value, chunks[1].Text));
    }

    [Fact]
    public void Paragraphs_are_packed_whole_within_the_budget_and_neighbours_overlap()
    {
        var paragraphs = Enumerable.Range(1, 6).Select(i => new TextBlock(BlockKind.Paragraph, $"p{i} a b c d")).ToArray();

        var chunks = Chunker.Chunk(Document(paragraphs), new ChunkingOptions(MaxTokens: 12, OverlapTokens: 5));

        Assert.All(chunks, c => Assert.True(WordCounter.Words(c.Text) <= 12, c.Text));
        Assert.Equal("p1 a b c d\n\np2 a b c d", chunks[0].Text);
        // The whole last paragraph (5 tokens) fits the overlap and opens the next chunk.
        Assert.StartsWith("p2 a b c d\n\np3", chunks[1].Text, StringComparison.Ordinal);
        var all = string.Join(" ", chunks.Select(c => c.Text));
        Assert.All(paragraphs, p => Assert.Contains(p.Text, all, StringComparison.Ordinal));
    }

    [Fact]
    public void A_paragraph_over_the_budget_is_split_at_sentences_then_words_and_nothing_is_lost()
    {
        var sentences = Enumerable.Range(1, 10).Select(i => $"Sentence {i} has five words.").ToList();
        var longWords = string.Join(' ', Enumerable.Range(1, 30).Select(i => $"w{i}"));
        var document = Document(new TextBlock(BlockKind.Paragraph, string.Join(' ', sentences) + " " + longWords));

        var chunks = Chunker.Chunk(document, new ChunkingOptions(MaxTokens: 12, OverlapTokens: 3));

        Assert.All(chunks, c => Assert.True(WordCounter.Words(c.Text) <= 12, c.Text));
        var all = string.Join(" ", chunks.Select(c => c.Text));
        Assert.All(sentences, s => Assert.Contains(s, all, StringComparison.Ordinal));
        Assert.All(Enumerable.Range(1, 30), i => Assert.Contains($"w{i}", all.Split(' ')));
        // Sentences are not cut: a chunk never ends mid-sentence while sentences remain.
        Assert.EndsWith("words.", chunks[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Table_rows_are_kept_whole_and_never_cut_for_overlap()
    {
        var rows = Enumerable.Range(1, 9).Select(i => new TextBlock(BlockKind.TableRow, $"Name: n{i} | Age: {i}")).ToArray();

        var chunks = Chunker.Chunk(Document(rows), new ChunkingOptions(MaxTokens: 14, OverlapTokens: 3));

        var rowTexts = rows.Select(r => r.Text).ToHashSet();
        Assert.All(chunks, c => Assert.All(c.Text.Split("\n\n"), part => Assert.Contains(part, rowTexts)));
        Assert.All(rows, r => Assert.Contains(chunks, c => c.Text.Contains(r.Text, StringComparison.Ordinal)));
    }

    [Fact]
    public void The_same_document_always_gives_the_same_chunks()
    {
        var blocks = Enumerable.Range(1, 40).Select(i => new TextBlock(i % 7 == 0 ? BlockKind.Heading : BlockKind.Paragraph, $"Block {i} " + string.Concat(Enumerable.Repeat("word ", i % 11)), Page: (i / 10) + 1, HeadingLevel: i % 7 == 0 ? 2 : 0)).ToArray();
        var options = new ChunkingOptions(MaxTokens: 16, OverlapTokens: 4);

        var first = Chunker.Chunk(Document(blocks), options);
        var second = Chunker.Chunk(Document(blocks), options);

        Assert.Equal(first.Select(c => (c.Index, c.Text, c.Page, string.Join('/', c.HeadingPath))), second.Select(c => (c.Index, c.Text, c.Page, string.Join('/', c.HeadingPath))));
    }

    [Fact]
    public void Overlap_must_be_smaller_than_the_budget()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Chunker.Chunk(Document(), new ChunkingOptions(MaxTokens: 10, OverlapTokens: 10)));
    }

    [Fact]
    public void Approximate_counter_keeps_persian_words_with_zero_width_non_joiners_whole()
    {
        var counter = new ApproximateTokenCounter();

        Assert.Equal(counter.Count("میخواهم"), counter.Count("می\u200Cخواهم"));
        Assert.Equal(3, counter.Count("a, b"));
    }

    private static ExtractedDocument Document(params TextBlock[] blocks) => new("text/plain", blocks, 1);

    /// <summary>One token per space-separated word: makes budgets in these tests exact.</summary>
    private sealed class WordCounter : ITokenCounter
    {
        public static int Words(string text) => text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Length;

        public int Count(string text) => Words(text);
    }
}
