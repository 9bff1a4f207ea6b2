namespace Sovereign.Web.Formatting;

/// <summary>
/// The direction a piece of text reads in, from its first strongly directional letter (the rule of HTML's
/// <c>dir="auto"</c>), so a Persian answer in an English interface still reads right-to-left. Thread-safe.
/// </summary>
public static class TextDirection
{
    public const string Rtl = "rtl";
    public const string Ltr = "ltr";
    public const string Auto = "auto";

    /// <summary><see cref="Rtl"/>, <see cref="Ltr"/>, or <see cref="Auto"/> when the text has no letter yet.</summary>
    public static string Of(string? text)
    {
        if (string.IsNullOrEmpty(text)) return Auto;
        foreach (var c in text)
        {
            if (IsRightToLeft(c)) return Rtl;
            if (char.IsLetter(c)) return Ltr;
        }
        return Auto;
    }

    /// <summary>Hebrew, Arabic, Syriac, Thaana, NKo and the Arabic presentation forms.</summary>
    private static bool IsRightToLeft(char c) =>
        c is >= '\u0590' and <= '\u08FF' or >= '\uFB1D' and <= '\uFDFF' or >= '\uFE70' and <= '\uFEFF';
}
