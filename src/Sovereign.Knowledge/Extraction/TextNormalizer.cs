using System.Text;
using System.Text.RegularExpressions;

namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// Brings text to one form before it is chunked, indexed and cited. Zero-width non-joiners (U+200C) and joiners
/// (U+200D) are part of Persian spelling ("می‌خواهم"), so they are never treated as space or stripped.
/// </summary>
internal static partial class TextNormalizer
{
    /// <summary>Collapses runs of spacing (HTML's rule: space, tab, line breaks, form feed, no-break space) to one space.</summary>
    public static string CollapseSpaces(string text) => Spacing().Replace(text, " ").Trim();

    /// <summary>
    /// NFC, plus Arabic presentation forms (U+FB50–U+FDFF, U+FE70–U+FEFF) mapped to the letters they draw, since OCR
    /// and some PDF producers emit shaped glyphs where search needs letters in logical order.
    /// </summary>
    public static string Normalize(string text)
    {
        if (HasPresentationForms(text))
        {
            var builder = new StringBuilder(text.Length);
            foreach (var ch in text)
            {
                if (IsPresentationForm(ch))
                {
                    builder.Append(ch.ToString().Normalize(NormalizationForm.FormKC));
                }
                else
                {
                    builder.Append(ch);
                }
            }

            text = builder.ToString();
        }

        text = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        // Byte-order marks and bidi controls from producers carry no meaning in logical-order text.
        text = BidiControls().Replace(text, string.Empty);
        return text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);
    }

    private static bool HasPresentationForms(string text)
    {
        foreach (var ch in text)
        {
            if (IsPresentationForm(ch))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsPresentationForm(char ch) => ch is (>= '\uFB50' and <= '\uFDFF') or (>= '\uFE70' and <= '\uFEFE');

    [GeneratedRegex(@"[ \t\n\r\f\u00A0]+")]
    private static partial Regex Spacing();

    [GeneratedRegex(@"[\uFEFF\u200E\u200F\u202A-\u202E\u2066-\u2069]")]
    private static partial Regex BidiControls();
}
