using System.Globalization;

namespace Sovereign.Web.Formatting;

/// <summary>
/// The interface languages: English (built in) and every culture with a translation of Strings.resx next to the
/// assembly, so adding Arabic is adding Strings.ar.resx, not code. Thread-safe.
/// </summary>
public static class WebCultures
{
    public const string Default = "en";

    public static IReadOnlyList<CultureInfo> Supported { get; } = Discover();

    public static bool IsRightToLeft(CultureInfo culture) => culture.TextInfo.IsRightToLeft;

    public static string Dir(CultureInfo culture) => IsRightToLeft(culture) ? TextDirection.Rtl : TextDirection.Ltr;

    private static List<CultureInfo> Discover()
    {
        var cultures = new List<CultureInfo> { CultureInfo.GetCultureInfo(Default) };
        var baseDirectory = Path.GetDirectoryName(typeof(WebCultures).Assembly.Location);
        if (string.IsNullOrEmpty(baseDirectory) || !Directory.Exists(baseDirectory)) return cultures;
        var satellite = typeof(WebCultures).Assembly.GetName().Name + ".resources.dll";
        foreach (var folder in Directory.EnumerateDirectories(baseDirectory).Order(StringComparer.Ordinal))
        {
            if (!File.Exists(Path.Combine(folder, satellite))) continue;
            try
            {
                var culture = CultureInfo.GetCultureInfo(Path.GetFileName(folder));
                if (culture.Name != Default) cultures.Add(culture);
            }
            catch (CultureNotFoundException)
            {
            }
        }
        return cultures;
    }
}
