using System.Globalization;

namespace Sovereign.Web.Formatting;

/// <summary>
/// Numbers, sizes and times in the interface's culture, with the culture's own digits (Persian ۰–۹, Arabic ٠–٩):
/// .NET formats with ASCII digits whatever the culture, so they are substituted here. Thread-safe.
/// </summary>
public static class CultureFormat
{
    public static string Number(double value, string format = "N0", CultureInfo? culture = null)
    {
        culture ??= CultureInfo.CurrentCulture;
        return Digits(value.ToString(format, culture), culture);
    }

    public static string Number(long value, CultureInfo? culture = null) => Number((double)value, "N0", culture);

    /// <summary>Bytes as KiB, MiB or GiB with one decimal.</summary>
    public static string Bytes(long bytes, CultureInfo? culture = null)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return Number(value, unit == 0 ? "N0" : "N1", culture) + " " + units[unit];
    }

    /// <summary>A moment in the local time zone, in the culture's calendar and short date-time pattern.</summary>
    public static string DateTime(DateTimeOffset? when, CultureInfo? culture = null)
    {
        if (when is null) return "—";
        culture ??= CultureInfo.CurrentCulture;
        return Digits(when.Value.ToLocalTime().ToString("g", culture), culture);
    }

    /// <summary>Replaces ASCII digits with the culture's native ones where it has its own.</summary>
    public static string Digits(string text, CultureInfo? culture = null)
    {
        culture ??= CultureInfo.CurrentCulture;
        var native = NativeDigits(culture);
        if (native is null) return text;
        return string.Create(text.Length, (text, native), static (span, state) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                var c = state.text[i];
                span[i] = c is >= '0' and <= '9' ? state.native[c - '0'] : c;
            }
        });
    }

    private static char[]? NativeDigits(CultureInfo culture) => culture.TwoLetterISOLanguageName switch
    {
        "fa" => ['۰', '۱', '۲', '۳', '۴', '۵', '۶', '۷', '۸', '۹'],
        "ar" => ['٠', '١', '٢', '٣', '٤', '٥', '٦', '٧', '٨', '٩'],
        _ => null,
    };
}
