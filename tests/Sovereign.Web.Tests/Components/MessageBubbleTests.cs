using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Web.Components.Shared;
using Sovereign.Web.Formatting;

namespace Sovereign.Web.Tests.Components;

public sealed class MessageBubbleTests : IDisposable
{
    private readonly BunitContext _context = new();

    public MessageBubbleTests() => _context.Services.AddSingleton<MarkdownRenderer>();

    private IRenderedComponent<MessageBubble> Render(string text, bool markdown = true) =>
        _context.Render<MessageBubble>(p => p.Add(b => b.Text, text).Add(b => b.RenderMarkdown, markdown));

    [Fact]
    public void A_Persian_answer_reads_right_to_left_whatever_the_interface_language()
    {
        var bubble = Render("سلام! این یک **پاسخ** است.").Find(".bubble");
        Assert.Equal("rtl", bubble.GetAttribute("dir"));
    }

    [Fact]
    public void An_English_answer_that_starts_with_digits_and_punctuation_reads_left_to_right()
    {
        Assert.Equal("ltr", Render("42. Hello, world").Find(".bubble").GetAttribute("dir"));
    }

    [Fact]
    public void An_empty_answer_still_streaming_lets_the_browser_decide()
    {
        Assert.Equal("auto", Render("").Find(".bubble").GetAttribute("dir"));
    }

    [Fact]
    public void Answers_render_Markdown_tables_lists_and_highlighted_code()
    {
        var cut = Render("| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n\n```csharp\nvar x = 1; // note\n```");
        Assert.Single(cut.FindAll("table"));
        Assert.Equal(2, cut.FindAll("li").Count);
        Assert.Equal("var", cut.Find("pre.code span.tok-k").TextContent);
        Assert.Equal("// note", cut.Find("pre.code span.tok-c").TextContent);
        Assert.Equal("language-csharp", cut.Find("pre.code code").GetAttribute("class"));
    }

    [Fact]
    public void Raw_HTML_in_an_answer_is_shown_as_text_never_run()
    {
        var cut = Render("<script>alert(1)</script><img src=x onerror=alert(2)>");
        Assert.Empty(cut.FindAll("script"));
        Assert.Empty(cut.FindAll("img"));
        Assert.Contains("<script>", cut.Find(".bubble").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void Questions_are_shown_as_typed_not_as_Markdown()
    {
        var cut = Render("**not bold**", markdown: false);
        Assert.Empty(cut.FindAll("strong"));
        Assert.Equal("**not bold**", cut.Find(".bubble").TextContent.Trim());
    }

    public void Dispose() => _context.Dispose();
}
