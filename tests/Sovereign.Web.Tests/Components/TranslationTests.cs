using System.Text.RegularExpressions;
using System.Xml.Linq;
using Sovereign.Web.Tests.Browser;

namespace Sovereign.Web.Tests.Components;

/// <summary>Every string the interface asks for exists in English, and every English string has a Persian translation.</summary>
public sealed partial class TranslationTests
{
    private static readonly string WebProject = Path.Combine(WebUiServer.RepoRoot, "src", "Sovereign.Web");

    private static HashSet<string> Keys(string resx) =>
        [.. XDocument.Load(Path.Combine(WebProject, "Resources", resx)).Root!.Elements("data").Select(d => d.Attribute("name")!.Value)];

    [GeneratedRegex("""L\["([A-Za-z.]+)"[\],]""")]
    private static partial Regex LocalizerKey();

    [Fact]
    public void Every_key_used_by_a_component_is_in_the_English_resources()
    {
        var english = Keys("Strings.resx");
        var used = Directory.EnumerateFiles(Path.Combine(WebProject, "Components"), "*.razor", SearchOption.AllDirectories)
            .SelectMany(f => LocalizerKey().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .Where(k => !k.EndsWith('.'))
            .ToHashSet();
        Assert.NotEmpty(used);
        Assert.Empty(used.Except(english));
    }

    [Fact]
    public void Persian_translates_every_English_string()
    {
        var english = Keys("Strings.resx");
        var persian = Keys("Strings.fa.resx");
        Assert.Empty(english.Except(persian));
        Assert.Empty(persian.Except(english));
    }
}
