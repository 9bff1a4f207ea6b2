using Markdig;
using Markdig.Renderers;
using Markdig.Renderers.Html;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Sovereign.Web.Formatting;

/// <summary>
/// Model output as HTML, rendered on the server. Model text is untrusted: raw HTML is escaped, links keep only
/// http(s), mailto and same-site targets, and images are never loaded from another host (a remote image would be a
/// request off this server), so they become plain links. Fenced code is highlighted by <see cref="CodeHighlighter"/>.
/// Thread-safe: the pipeline is immutable and each call has its own renderer.
/// </summary>
public sealed class MarkdownRenderer
{
    private readonly MarkdownPipeline _pipeline = new MarkdownPipelineBuilder()
        .DisableHtml()
        .UsePipeTables()
        .UseGridTables()
        .UseEmphasisExtras()
        .UseTaskLists()
        .UseAutoLinks()
        .UseListExtras()
        .Build();

    public string ToHtml(string markdown)
    {
        var document = Markdown.Parse(markdown ?? "", _pipeline);
        MakeSafe(document);
        using var writer = new StringWriter();
        var renderer = new HtmlRenderer(writer);
        _pipeline.Setup(renderer);
        var code = renderer.ObjectRenderers.FindExact<CodeBlockRenderer>();
        if (code is not null) renderer.ObjectRenderers.Remove(code);
        renderer.ObjectRenderers.Insert(0, new HighlightedCodeRenderer());
        renderer.Render(document);
        writer.Flush();
        return writer.ToString();
    }

    private static void MakeSafe(MarkdownDocument document)
    {
        foreach (var link in document.Descendants<LinkInline>().ToList())
        {
            if (!IsSafeUrl(link.Url))
            {
                link.Url = "#";
            }
            else if (!IsSameSite(link.Url))
            {
                link.GetAttributes().AddPropertyIfNotExist("rel", "noopener noreferrer nofollow");
            }

            if (link.IsImage && !IsSameSite(link.Url))
            {
                // Shown as a link to click, never fetched by the page on its own.
                link.IsImage = false;
                if (link.FirstChild is null) link.AppendChild(new LiteralInline(link.Url ?? ""));
            }
        }
    }

    private static bool IsSameSite(string? url) =>
        url is { Length: > 0 } u && ((u[0] == '/' && !u.StartsWith("//", StringComparison.Ordinal)) || u[0] == '#');

    private static bool IsSafeUrl(string? url)
    {
        if (string.IsNullOrWhiteSpace(url)) return true;
        if (IsSameSite(url)) return true;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) return !url.Contains(':', StringComparison.Ordinal);
        return uri.Scheme is "http" or "https" or "mailto";
    }

    /// <summary>Fenced and indented code as <c>&lt;pre&gt;&lt;code&gt;</c> with highlighting spans.</summary>
    private sealed class HighlightedCodeRenderer : HtmlObjectRenderer<CodeBlock>
    {
        protected override void Write(HtmlRenderer renderer, CodeBlock block)
        {
            var language = (block as FencedCodeBlock)?.Info?.Trim() ?? "";
            var code = block.Lines.ToString();
            renderer.EnsureLine();
            renderer.Write("<pre class=\"code\"><code");
            if (language.Length > 0)
            {
                renderer.Write(" class=\"language-");
                renderer.WriteEscape(language);
                renderer.Write("\"");
            }
            renderer.Write(">");
            renderer.Write(CodeHighlighter.Highlight(code, language));
            renderer.WriteLine("</code></pre>");
        }
    }
}
