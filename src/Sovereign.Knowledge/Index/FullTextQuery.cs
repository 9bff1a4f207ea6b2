using System.Text;
using System.Text.RegularExpressions;

namespace Sovereign.Knowledge.Index;

/// <summary>
/// Turns free text into an FTS5 MATCH expression that cannot be a syntax error: each word (letters, digits, marks and
/// the zero-width non-joiner of Persian) quoted, joined by OR, so BM25 ranks passages by how many of the words they
/// share and how rare those are. Stateless.
/// </summary>
internal static partial class FullTextQuery
{
    public const int MaxTerms = 64;

    /// <summary>The MATCH expression, or null when the text has no words.</summary>
    public static string? From(string text)
    {
        var terms = Words().Matches(text)
            .Select(m => m.Value.ToLowerInvariant())
            .Distinct(StringComparer.Ordinal)
            .Take(MaxTerms)
            .ToList();
        if (terms.Count == 0) return null;
        var query = new StringBuilder();
        foreach (var term in terms)
        {
            if (query.Length > 0) query.Append(" OR ");
            query.Append('"').Append(term.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
        }
        return query.ToString();
    }

    [GeneratedRegex(@"[\p{L}\p{N}\p{M}\u200C]+")]
    private static partial Regex Words();
}
