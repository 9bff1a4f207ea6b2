using Sovereign.Web.Formatting;

namespace Sovereign.Web.Tests.Formatting;

public sealed class MarkdownRendererTests
{
    private readonly MarkdownRenderer _markdown = new();

    [Fact]
    public void A_remote_image_becomes_a_link_so_the_page_never_requests_another_host()
    {
        var html = _markdown.ToHtml("![tracker](http://example.invalid/pixel.png)");
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.Contains("href=\"http://example.invalid/pixel.png\"", html, StringComparison.Ordinal);
        Assert.Contains("rel=\"noopener noreferrer nofollow\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void A_same_site_image_is_kept()
    {
        Assert.Contains("<img src=\"/_content/Sovereign.Web/icons/sovereign.svg\"", _markdown.ToHtml("![logo](/_content/Sovereign.Web/icons/sovereign.svg)"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[click](javascript:alert(1))")]
    [InlineData("[click](data:text/html,<script>alert(1)</script>)")]
    [InlineData("[click](vbscript:msgbox)")]
    public void Script_links_are_neutralised(string markdown)
    {
        var html = _markdown.ToHtml(markdown);
        Assert.Contains("href=\"#\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("script:", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Python_comments_start_with_a_hash_and_strings_are_marked()
    {
        var html = _markdown.ToHtml("```python\ndef f():\n    return 'x'  # done\n```");
        Assert.Contains("<span class=\"tok-k\">def</span>", html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"tok-s\">&#39;x&#39;</span>", html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"tok-c\"># done</span>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Code_is_escaped_inside_the_highlighting()
    {
        var html = _markdown.ToHtml("```\nif (a < b && c > d) {}\n```");
        Assert.Contains("a &lt; b &amp;&amp; c &gt; d", html, StringComparison.Ordinal);
    }
}
