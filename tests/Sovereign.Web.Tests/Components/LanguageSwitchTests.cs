using System.Globalization;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Web.Components.Layout;

namespace Sovereign.Web.Tests.Components;

public sealed class LanguageSwitchTests : IDisposable
{
    private readonly BunitContext _context = new();

    public LanguageSwitchTests() => _context.Services.AddLocalization();

    [Fact]
    public void Offers_English_and_Persian_each_named_in_its_own_language_and_returning_to_this_page()
    {
        _context.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo("manage/keys?x=1");
        var cut = _context.Render<LanguageSwitch>();

        var persian = cut.Find("#lang-fa");
        Assert.Equal("فارسی", persian.TextContent);
        Assert.Equal("fa", persian.GetAttribute("lang"));
        Assert.Equal("culture?name=fa&redirect=%2Fmanage%2Fkeys%3Fx%3D1", persian.GetAttribute("href"));
        Assert.Equal("English", cut.Find("#lang-en").TextContent);
    }

    [Fact]
    public void Marks_the_current_language()
    {
        var saved = CultureInfo.CurrentUICulture;
        try
        {
            CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo("fa");
            var cut = _context.Render<LanguageSwitch>();
            Assert.Equal("true", cut.Find("#lang-fa").GetAttribute("aria-current"));
            Assert.Null(cut.Find("#lang-en").GetAttribute("aria-current"));
        }
        finally
        {
            CultureInfo.CurrentUICulture = saved;
        }
    }

    public void Dispose() => _context.Dispose();
}
