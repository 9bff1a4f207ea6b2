using System.Text.RegularExpressions;

namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// Markdown read line by line into blocks: ATX and setext headings, paragraphs, list items, fenced code and pipe
/// tables (each row as "header: value" pairs, so a row read alone still says what its values are). Inline markup is
/// reduced to its text: links keep their words, images their alt text.
/// </summary>
internal static partial class MarkdownReader
{
    public static List<TextBlock> Read(string text)
    {
        var blocks = new List<TextBlock>();
        var paragraph = new List<string>();
        BlockKind paragraphKind = BlockKind.Paragraph;
        string[]? tableHeaders = null;
        var tableHasRows = false;
        string? fence = null;
        var code = new List<string>();

        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.TrimEnd();

            // :: Inside fenced code everything is kept verbatim until the closing fence.
            if (fence is not null)
            {
                if (line.TrimStart().StartsWith(fence, StringComparison.Ordinal))
                {
                    if (code.Count > 0)
                    {
                        blocks.Add(new TextBlock(BlockKind.Code, string.Join('\n', code)));
                    }

                    code.Clear();
                    fence = null;
                }
                else
                {
                    code.Add(rawLine);
                }

                continue;
            }

            var fenceMatch = Fence().Match(line);
            if (fenceMatch.Success)
            {
                Flush();
                fence = fenceMatch.Groups[1].Value;
                continue;
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                Flush();
                continue;
            }

            var heading = AtxHeading().Match(line);
            if (heading.Success)
            {
                Flush();
                var title = Inline(heading.Groups[2].Value);
                if (title.Length > 0)
                {
                    blocks.Add(new TextBlock(BlockKind.Heading, title, HeadingLevel: heading.Groups[1].Length));
                }

                continue;
            }

            // A line of = or - under a one-line paragraph makes that paragraph a heading (setext).
            if (paragraph.Count > 0 && paragraphKind == BlockKind.Paragraph && SetextUnderline().IsMatch(line))
            {
                var title = Inline(string.Join(' ', paragraph));
                paragraph.Clear();
                blocks.Add(new TextBlock(BlockKind.Heading, title, HeadingLevel: line.TrimStart()[0] == '=' ? 1 : 2));
                continue;
            }

            if (ThematicBreak().IsMatch(line))
            {
                Flush();
                continue;
            }

            if (TableLine().IsMatch(line))
            {
                if (paragraph.Count > 0)
                {
                    Flush();
                }

                var cells = SplitRow(line);
                if (TableSeparator().IsMatch(line))
                {
                    continue;
                }

                if (tableHeaders is null)
                {
                    tableHeaders = cells;
                    tableHasRows = false;
                    continue;
                }

                var row = TableRowText.Format(tableHeaders, cells);
                if (row.Length > 0)
                {
                    blocks.Add(new TextBlock(BlockKind.TableRow, row));
                    tableHasRows = true;
                }

                continue;
            }

            if (tableHeaders is not null)
            {
                Flush();
            }

            var item = ListItem().Match(line);
            if (item.Success)
            {
                Flush();
                paragraphKind = BlockKind.ListItem;
                paragraph.Add(item.Groups[1].Value);
                continue;
            }

            var quote = BlockQuote().Match(line);
            paragraph.Add(quote.Success ? quote.Groups[1].Value : line.Trim());
        }

        if (fence is not null && code.Count > 0)
        {
            blocks.Add(new TextBlock(BlockKind.Code, string.Join('\n', code)));
        }

        Flush();
        return blocks;

        void Flush()
        {
            if (tableHeaders is not null && !tableHasRows)
            {
                // A header row with no body still says something; keep it rather than lose it.
                blocks.Add(new TextBlock(BlockKind.TableRow, string.Join(" | ", tableHeaders)));
            }

            tableHeaders = null;
            if (paragraph.Count > 0)
            {
                var textOfParagraph = Inline(string.Join(' ', paragraph));
                if (textOfParagraph.Length > 0)
                {
                    blocks.Add(new TextBlock(paragraphKind, textOfParagraph));
                }

                paragraph.Clear();
            }

            paragraphKind = BlockKind.Paragraph;
        }
    }

    /// <summary>Reduces inline markup to the words a reader sees.</summary>
    internal static string Inline(string text)
    {
        text = Image().Replace(text, "$1");
        text = Link().Replace(text, "$1");
        text = AutoLink().Replace(text, "$1");
        text = Emphasis().Replace(text, "$2");
        text = UnderscoreEmphasis().Replace(text, "$1");
        text = text.Replace("`", string.Empty, StringComparison.Ordinal);
        text = EscapedPunctuation().Replace(text, "$1");
        return TextNormalizer.CollapseSpaces(text);
    }

    private static string[] SplitRow(string line)
    {
        var trimmed = line.Trim();
        if (trimmed.StartsWith('|'))
        {
            trimmed = trimmed[1..];
        }

        if (trimmed.EndsWith('|'))
        {
            trimmed = trimmed[..^1];
        }

        return [.. trimmed.Split('|').Select(cell => Inline(cell))];
    }

    [GeneratedRegex(@"^ {0,3}(`{3,}|~{3,})")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^ {0,3}(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*$")]
    private static partial Regex AtxHeading();

    [GeneratedRegex(@"^ {0,3}(=+|-+)\s*$")]
    private static partial Regex SetextUnderline();

    [GeneratedRegex(@"^ {0,3}([-*_])(\s*\1){2,}\s*$")]
    private static partial Regex ThematicBreak();

    [GeneratedRegex(@"^\s*\|.*\|\s*$")]
    private static partial Regex TableLine();

    [GeneratedRegex(@"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")]
    private static partial Regex TableSeparator();

    [GeneratedRegex(@"^\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?(.*)$")]
    private static partial Regex ListItem();

    [GeneratedRegex(@"^\s*>\s?(.*)$")]
    private static partial Regex BlockQuote();

    [GeneratedRegex(@"!\[([^\]]*)\]\([^)]*\)")]
    private static partial Regex Image();

    [GeneratedRegex(@"\[([^\]]+)\]\([^)]*\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"<((?:https?|mailto):[^>\s]+)>")]
    private static partial Regex AutoLink();

    [GeneratedRegex(@"(\*\*|\*|~~)(\S(?:.*?\S)?)\1")]
    private static partial Regex Emphasis();

    // Underscores mark emphasis only at word edges, so snake_case names survive.
    [GeneratedRegex(@"(?<!\w)_{1,2}(\S(?:.*?\S)?)_{1,2}(?!\w)")]
    private static partial Regex UnderscoreEmphasis();

    [GeneratedRegex(@"\\([\\`*_{}\[\]()#+\-.!|>])")]
    private static partial Regex EscapedPunctuation();
}
