using System.Globalization;

namespace Sovereign.Knowledge.Chunking;

/// <summary>
/// Counts tokens roughly the way sub-word tokenisers do, without a vocabulary: a word costs one token per four
/// characters (at least one), each punctuation mark or symbol one. Close enough to budget chunks for any embedding
/// model; not for billing. Stateless and thread-safe.
/// </summary>
public sealed class ApproximateTokenCounter : ITokenCounter
{
    public int Count(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = 0;
        var wordLength = 0;
        foreach (var ch in text)
        {
            if (IsWordCharacter(ch))
            {
                wordLength++;
                continue;
            }

            tokens += WordTokens(wordLength);
            wordLength = 0;
            if (!char.IsWhiteSpace(ch))
            {
                tokens++;
            }
        }

        return tokens + WordTokens(wordLength);
    }

    private static int WordTokens(int length) => length == 0 ? 0 : (length + 3) / 4;

    // Zero-width non-joiners sit inside Persian words ("می‌خواهم"); they must not split a word in two.
    private static bool IsWordCharacter(char ch) =>
        char.IsLetterOrDigit(ch) || ch is '\u200C' or '\u200D' || CharUnicodeInfo.GetUnicodeCategory(ch) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
}
