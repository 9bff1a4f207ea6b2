using System.Text;
using System.Text.RegularExpressions;
using Sovereign.Knowledge.Extraction;

namespace Sovereign.Knowledge.Chunking;

/// <summary>
/// Chunks that follow the document's structure. Stateless and thread-safe; the same input always gives the same
/// chunks.
/// </summary>
/// <remarks>
/// The rules, in order of strength:
/// 1. A heading starts a new chunk; the chunk's heading path is the headings above it, and the first chunk of a
///    section opens with its heading's text (so the passage says what it is about when read or embedded alone).
/// 2. A new page starts a new chunk, so each chunk's page is the page its text is on.
/// 3. Blocks (paragraphs, list items, table rows, code) are packed whole into a chunk up to
///    <see cref="ChunkingOptions.MaxTokens"/>; a block too large for one chunk is split at sentences, then at words.
/// 4. Neighbouring chunks in the same section and page share up to <see cref="ChunkingOptions.OverlapTokens"/>:
///    whole trailing blocks where they fit, else trailing words; table rows are never cut for overlap.
/// </remarks>
public sealed partial class StructuredChunker(ITokenCounter tokenCounter) : IChunker
{
    private const string BlockSeparator = "\n\n";

    public IReadOnlyList<DocumentChunk> Chunk(ExtractedDocument document, ChunkingOptions options)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxTokens < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxTokens must be at least 1.");
        }

        if (options.OverlapTokens < 0 || options.OverlapTokens >= options.MaxTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "OverlapTokens must be at least 0 and below MaxTokens.");
        }

        var builder = new Builder(tokenCounter, options);
        foreach (var block in document.Blocks)
        {
            if (string.IsNullOrWhiteSpace(block.Text))
            {
                continue;
            }

            if (block.Kind == BlockKind.Heading)
            {
                builder.Heading(block);
                continue;
            }

            builder.Content(block);
        }

        builder.Finish();
        return builder.Chunks;
    }

    /// <summary>Sentence ends in Latin and Arabic scripts; the split keeps the mark with its sentence.</summary>
    [GeneratedRegex(@"(?<=[.!?؟۔。])\s+|\n+")]
    private static partial Regex SentenceBoundary();

    private sealed record Piece(string Text, int Tokens, BlockKind Kind, bool ContinuesBlock);

    private sealed class Builder(ITokenCounter counter, ChunkingOptions options)
    {
        private readonly List<(int Level, string Text)> _headings = [];
        private readonly List<Piece> _pieces = [];
        private int _tokens;
        private int? _page;
        private string? _sectionHeading;
        private bool _sectionHasChunk;

        public List<DocumentChunk> Chunks { get; } = [];

        public void Heading(TextBlock block)
        {
            Emit(carryOverlap: false);
            var level = Math.Clamp(block.HeadingLevel, 1, 6);
            _headings.RemoveAll(h => h.Level >= level);
            _headings.Add((level, block.Text.Trim()));
            _sectionHeading = block.Text.Trim();
            _sectionHasChunk = false;
            _page = block.Page ?? _page;
        }

        public void Content(TextBlock block)
        {
            if (_pieces.Count > 0 && block.Page != _page)
            {
                Emit(carryOverlap: false);
            }

            if (_pieces.Count == 0)
            {
                _page = block.Page;
            }

            var units = Units(block);
            for (var i = 0; i < units.Count; i++)
            {
                var piece = new Piece(units[i], counter.Count(units[i]), block.Kind, ContinuesBlock: i > 0);
                if (_pieces.Count > 0 && _tokens + piece.Tokens > Budget())
                {
                    Emit(carryOverlap: true);
                    // The overlap makes room for the new piece or goes.
                    while (_pieces.Count > 0 && _tokens + piece.Tokens > Budget())
                    {
                        _tokens -= _pieces[0].Tokens;
                        _pieces.RemoveAt(0);
                    }
                }

                _pieces.Add(piece);
                _tokens += piece.Tokens;
            }
        }

        public void Finish()
        {
            Emit(carryOverlap: false);
            if (Chunks.Count == 0 && _headings.Count > 0)
            {
                // A document of headings alone still has something to find.
                var text = string.Join(BlockSeparator, _headings.Select(h => h.Text));
                Chunks.Add(new DocumentChunk(0, text, _page, []));
            }
        }

        /// <summary>The tokens left for blocks once the section's heading opens the chunk.</summary>
        private int Budget()
        {
            var heading = !_sectionHasChunk && _sectionHeading is not null ? counter.Count(_sectionHeading) : 0;
            // A heading longer than the budget is not allowed to starve the text of room.
            return heading < options.MaxTokens / 2 ? options.MaxTokens - heading : options.MaxTokens;
        }

        private List<string> Units(TextBlock block)
        {
            var text = block.Text.Trim();
            var max = options.MaxTokens;
            if (counter.Count(text) <= max)
            {
                return [text];
            }

            // A block over the budget goes in sentence-sized units, so chunks break between sentences.
            var units = new List<string>();
            foreach (var sentence in SentenceBoundary().Split(text))
            {
                var trimmed = sentence.Trim();
                if (trimmed.Length == 0)
                {
                    continue;
                }

                if (counter.Count(trimmed) <= max - options.OverlapTokens)
                {
                    units.Add(trimmed);
                    continue;
                }

                units.AddRange(SplitWords(trimmed, max - options.OverlapTokens));
            }

            return units;
        }

        private List<string> SplitWords(string text, int limit)
        {
            var parts = new List<string>();
            var current = new StringBuilder();
            var tokens = 0;
            foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var cost = counter.Count(word);
                if (current.Length > 0 && tokens + cost > limit)
                {
                    parts.Add(current.ToString());
                    current.Clear();
                    tokens = 0;
                }

                if (cost > limit)
                {
                    // One "word" over the budget (a long run without spaces): cut it by characters.
                    foreach (var slice in SliceCharacters(word, limit))
                    {
                        parts.Add(slice);
                    }

                    continue;
                }

                if (current.Length > 0)
                {
                    current.Append(' ');
                }

                current.Append(word);
                tokens += cost;
            }

            if (current.Length > 0)
            {
                parts.Add(current.ToString());
            }

            return parts;
        }

        private IEnumerable<string> SliceCharacters(string word, int limit)
        {
            var start = 0;
            while (start < word.Length)
            {
                var length = 1;
                while (start + length < word.Length && counter.Count(word.Substring(start, length + 1)) <= limit)
                {
                    length++;
                }

                // Never split a surrogate pair.
                if (start + length < word.Length && char.IsHighSurrogate(word[start + length - 1]))
                {
                    length++;
                }

                yield return word.Substring(start, length);
                start += length;
            }
        }

        private void Emit(bool carryOverlap)
        {
            if (_pieces.Count == 0)
            {
                return;
            }

            var text = new StringBuilder();
            if (!_sectionHasChunk && _sectionHeading is not null && _tokens + counter.Count(_sectionHeading) <= options.MaxTokens)
            {
                text.Append(_sectionHeading).Append(BlockSeparator);
            }

            for (var i = 0; i < _pieces.Count; i++)
            {
                if (i > 0)
                {
                    text.Append(_pieces[i].ContinuesBlock ? " " : BlockSeparator);
                }

                text.Append(_pieces[i].Text);
            }

            Chunks.Add(new DocumentChunk(Chunks.Count, text.ToString(), _page, [.. _headings.Select(h => h.Text)]));
            _sectionHasChunk = true;

            var overlap = carryOverlap ? Overlap() : [];
            _pieces.Clear();
            _pieces.AddRange(overlap);
            _tokens = overlap.Sum(p => p.Tokens);
        }

        private List<Piece> Overlap()
        {
            var budget = options.OverlapTokens;
            var carried = new List<Piece>();
            var tokens = 0;
            for (var i = _pieces.Count - 1; i >= 0 && budget > 0; i--)
            {
                var piece = _pieces[i];
                if (tokens + piece.Tokens <= budget)
                {
                    carried.Insert(0, piece);
                    tokens += piece.Tokens;
                    continue;
                }

                if (piece.Kind != BlockKind.TableRow && carried.Count == 0)
                {
                    var tail = TrailingWords(piece.Text, budget);
                    if (tail.Length > 0)
                    {
                        carried.Add(piece with { Text = tail, Tokens = counter.Count(tail) });
                    }
                }

                break;
            }

            // The first carried piece begins the next chunk's text as its own block.
            if (carried.Count > 0)
            {
                carried[0] = carried[0] with { ContinuesBlock = false };
            }

            return carried;
        }

        private string TrailingWords(string text, int budget)
        {
            var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var take = 0;
            var tokens = 0;
            for (var i = words.Length - 1; i >= 0; i--)
            {
                var cost = counter.Count(words[i]);
                if (tokens + cost > budget)
                {
                    break;
                }

                tokens += cost;
                take++;
            }

            return string.Join(' ', words[^take..]);
        }
    }
}
