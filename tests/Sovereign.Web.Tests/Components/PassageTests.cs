using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Web.Access;
using Sovereign.Web.Components.Shared;

namespace Sovereign.Web.Tests.Components;

public sealed class PassageTests : IDisposable
{
    private readonly BunitContext _context = new();

    public PassageTests() => _context.Services.AddLocalization();

    private static readonly WebPassage Persian = new("kb_1", "doc_1", "راهنما.pdf", "داروخانه ساعت هشت باز می‌شود.", 3, ["ساعت کار"], 0.9);

    [Fact]
    public void A_citation_shows_its_number_and_source_and_keeps_its_text_closed_until_asked()
    {
        var cut = _context.Render<Passage>(p => p.Add(x => x.Value, Persian).Add(x => x.Marker, 2).Add(x => x.Open, false));
        Assert.Equal("[2]", cut.Find(".passage-marker").TextContent);
        Assert.Equal("راهنما.pdf", cut.Find(".passage-source").TextContent);
        Assert.Contains("page 3", cut.Find("summary").TextContent, StringComparison.Ordinal);
        Assert.False(cut.Find("details").HasAttribute("open"));
    }

    [Fact]
    public void A_Persian_passage_reads_right_to_left_and_a_search_result_shows_its_text_with_no_number()
    {
        var cut = _context.Render<Passage>(p => p.Add(x => x.Value, Persian));
        Assert.Equal("rtl", cut.Find(".passage-text").GetAttribute("dir"));
        Assert.True(cut.Find("details").HasAttribute("open"));
        Assert.Empty(cut.FindAll(".passage-marker"));
    }

    public void Dispose() => _context.Dispose();
}
