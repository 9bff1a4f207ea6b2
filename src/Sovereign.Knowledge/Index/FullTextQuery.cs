using System.Text;
using System.Text.RegularExpressions;

namespace Sovereign.Knowledge.Index;

/// <summary>
/// Turns free text into an FTS5 MATCH expression that cannot be a syntax error: each word (letters, digits, marks and
/// the zero-width non-joiner of Persian) quoted, joined by OR, so BM25 ranks passages by how many of the words they
/// share and how rare those are. Function words of a question ("how", "the", "do") are left out: in a small knowledge
/// base BM25 cannot discount them enough, and passages sharing only those would crowd the candidates that hybrid
/// search fuses. A query of nothing but function words keeps them all. Stateless.
/// </summary>
internal static partial class FullTextQuery
{
    public const int MaxTerms = 64;

    /// <summary>The MATCH expression, or null when the text has no words.</summary>
    public static string? From(string text)
    {
        var terms = Terms(text);
        if (terms.Count == 0) return null;
        var query = new StringBuilder();
        foreach (var term in terms)
        {
            if (query.Length > 0) query.Append(" OR ");
            query.Append('"').Append(term.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
        }
        return query.ToString();
    }

    /// <summary>
    /// The distinct words a search looks for, lowercased, function words left out (unless that leaves none), at most
    /// <see cref="MaxTerms"/>. Every index matches these (SQLite's FTS5 and PostgreSQL's full text alike).
    /// </summary>
    public static IReadOnlyList<string> Terms(string text)
    {
        var terms = Words(text).Distinct(StringComparer.Ordinal).ToList();
        var content = terms.Where(t => !StopWords.Contains(t)).ToList();
        if (content.Count > 0) terms = content;
        return [.. terms.Take(MaxTerms)];
    }

    /// <summary>Every word of <paramref name="text"/>, lowercased, in order.</summary>
    public static IEnumerable<string> Words(string text) => WordPattern().Matches(text).Select(m => m.Value.ToLowerInvariant());

    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        // English
        "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "before", "being", "between", "both", "but",
        "by", "can", "could", "did", "do", "does", "doing", "each", "for", "from", "get", "got", "had", "has", "have", "having", "he", "her", "here",
        "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "may", "me", "might", "must", "my", "no", "nor", "not", "of", "on",
        "or", "our", "out", "over", "own", "same", "shall", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then",
        "there", "these", "they", "this", "those", "through", "to", "too", "under", "up", "us", "very", "was", "we", "were", "what", "when", "where",
        "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
        // Persian and Arabic particles
        "و", "در", "به", "از", "که", "را", "با", "این", "آن", "است", "برای", "یا", "تا", "هم", "چه", "من", "ما",
        "في", "من", "على", "إلى", "عن", "أن", "ما", "هل", "هذا", "هذه", "التي", "الذي", "مع", "أو",
    };

    [GeneratedRegex(@"[\p{L}\p{N}\p{M}\u200C]+")]
    private static partial Regex WordPattern();
}
