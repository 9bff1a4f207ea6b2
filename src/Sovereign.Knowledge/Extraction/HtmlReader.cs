using AngleSharp.Dom;
using AngleSharp.Html.Dom;
using AngleSharp.Html.Parser;

namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// HTML parsed as a browser would (AngleSharp; nothing is fetched, no script runs) and walked in document order:
/// h1–h6 become headings, block elements paragraphs, li list items, pre code, table rows "header: value" pairs.
/// Script, style and other non-content elements are skipped.
/// </summary>
internal static class HtmlReader
{
    private static readonly HashSet<string> Skipped = new(StringComparer.OrdinalIgnoreCase)
    {
        "script", "style", "noscript", "template", "head", "svg", "math", "iframe", "object", "embed", "canvas", "button", "select", "textarea",
    };

    private static readonly HashSet<string> BlockElements = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "blockquote", "figure", "figcaption",
        "dl", "dt", "dd", "address", "ul", "ol", "form", "fieldset", "legend", "details", "summary", "caption", "body", "hr",
    };

    public static List<TextBlock> Read(string html)
    {
        var parser = new HtmlParser(new HtmlParserOptions { IsScripting = false });
        using var document = parser.ParseDocument(html);
        var walker = new Walker();
        if (document.Body is not null)
        {
            walker.Walk(document.Body);
        }

        walker.Flush();
        return walker.Blocks;
    }

    private sealed class Walker
    {
        private readonly System.Text.StringBuilder _pending = new();
        private BlockKind _kind = BlockKind.Paragraph;

        public List<TextBlock> Blocks { get; } = [];

        public void Walk(INode node)
        {
            foreach (var child in node.ChildNodes)
            {
                switch (child)
                {
                    case IText text:
                        _pending.Append(text.Data);
                        break;
                    case IElement element:
                        Visit(element);
                        break;
                }
            }
        }

        public void Flush()
        {
            var text = TextNormalizer.CollapseSpaces(_pending.ToString());
            _pending.Clear();
            if (text.Length > 0)
            {
                Blocks.Add(new TextBlock(_kind, text));
            }
        }

        private void Visit(IElement element)
        {
            var name = element.LocalName;
            if (Skipped.Contains(name))
            {
                return;
            }

            if (name.Length == 2 && name[0] == 'h' && name[1] is >= '1' and <= '6')
            {
                Flush();
                var title = TextNormalizer.CollapseSpaces(element.TextContent);
                if (title.Length > 0)
                {
                    Blocks.Add(new TextBlock(BlockKind.Heading, title, HeadingLevel: name[1] - '0'));
                }

                return;
            }

            switch (name)
            {
                case "br":
                    _pending.Append(' ');
                    return;
                case "img":
                    // Alt text is the author's words for the picture; keep it inline.
                    var alt = element.GetAttribute("alt");
                    if (!string.IsNullOrWhiteSpace(alt))
                    {
                        _pending.Append(' ').Append(alt).Append(' ');
                    }

                    return;
                case "pre":
                    Flush();
                    var code = element.TextContent.Trim('\n', '\r');
                    if (code.Trim().Length > 0)
                    {
                        Blocks.Add(new TextBlock(BlockKind.Code, code));
                    }

                    return;
                case "table" when element is IHtmlTableElement table:
                    Flush();
                    ReadTable(table);
                    return;
                case "li":
                    Flush();
                    var outer = _kind;
                    _kind = BlockKind.ListItem;
                    Walk(element);
                    Flush();
                    _kind = outer;
                    return;
            }

            if (BlockElements.Contains(name))
            {
                Flush();
                Walk(element);
                Flush();
                return;
            }

            Walk(element);
        }

        private void ReadTable(IHtmlTableElement table)
        {
            List<string>? headers = null;
            foreach (var row in table.Rows)
            {
                var cells = row.Cells.Select(c => TextNormalizer.CollapseSpaces(c.TextContent)).ToList();
                if (headers is null && row.Cells.Length > 0 && row.Cells.All(c => c.LocalName == "th"))
                {
                    headers = cells;
                    continue;
                }

                var text = TableRowText.Format(headers, cells);
                if (text.Length > 0)
                {
                    Blocks.Add(new TextBlock(BlockKind.TableRow, text));
                }
            }

            if (headers is not null && !table.Rows.Skip(1).Any())
            {
                var text = string.Join(" | ", headers.Where(h => h.Length > 0));
                if (text.Length > 0)
                {
                    Blocks.Add(new TextBlock(BlockKind.TableRow, text));
                }
            }
        }
    }
}
