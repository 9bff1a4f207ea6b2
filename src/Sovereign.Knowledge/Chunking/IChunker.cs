using Sovereign.Knowledge.Extraction;

namespace Sovereign.Knowledge.Chunking;

/// <summary>
/// Splits an extracted document into passages that follow its structure (headings, paragraphs, pages, table rows)
/// within a token budget, with overlap between neighbours. Pure and deterministic: the same input gives the same chunks.
/// </summary>
public interface IChunker
{
    IReadOnlyList<DocumentChunk> Chunk(ExtractedDocument document, ChunkingOptions options);
}

/// <summary>Counts tokens the way the embedding model will see them (approximately is fine for budgeting).</summary>
public interface ITokenCounter
{
    int Count(string text);
}

public sealed record ChunkingOptions(int MaxTokens = 256, int OverlapTokens = 32);

/// <param name="Index">0-based position in the document.</param>
/// <param name="Text">The passage text as it will be embedded, indexed and cited.</param>
/// <param name="Page">The page the passage starts on, for paged formats.</param>
/// <param name="HeadingPath">The headings above the passage, outermost first.</param>
public sealed record DocumentChunk(int Index, string Text, int? Page, IReadOnlyList<string> HeadingPath);
