using System.Text;

namespace Sovereign.Agents.ToolCalling;

/// <summary>Combining llama.cpp GBNF grammars. Pure and thread-safe.</summary>
public static class GbnfRules
{
    /// <summary>
    /// A complete grammar (start rule <c>root</c>) renamed so it can live beside others: every rule it defines gets the
    /// prefix <paramref name="rule"/>, and <c>root</c> becomes <paramref name="rule"/> itself. Literals, character classes
    /// and comments are left alone.
    /// </summary>
    public static string Embed(string grammar, string rule)
    {
        ArgumentNullException.ThrowIfNull(grammar);
        ArgumentException.ThrowIfNullOrEmpty(rule);
        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in grammar.Split('\n'))
        {
            var at = line.IndexOf("::=", StringComparison.Ordinal);
            if (at > 0) defined.Add(line[..at].Trim());
        }
        string Rename(string name) => name == "root" ? rule : $"{rule}-{name}";

        var output = new StringBuilder(grammar.Length + defined.Count * 8);
        for (var i = 0; i < grammar.Length;)
        {
            var c = grammar[i];
            if (c is '"' or '[')
            {
                // A literal or class, escapes included, copied as it is.
                var end = c == '"' ? '"' : ']';
                var j = i + 1;
                while (j < grammar.Length && grammar[j] != end) j += grammar[j] == '\\' ? 2 : 1;
                j = Math.Min(j + 1, grammar.Length);
                output.Append(grammar, i, j - i);
                i = j;
            }
            else if (c == '#')
            {
                var j = grammar.IndexOf('\n', i);
                j = j < 0 ? grammar.Length : j;
                output.Append(grammar, i, j - i);
                i = j;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c == '-')
            {
                var j = i;
                while (j < grammar.Length && (char.IsAsciiLetterOrDigit(grammar[j]) || grammar[j] == '-')) j++;
                var word = grammar[i..j];
                output.Append(defined.Contains(word) ? Rename(word) : word);
                i = j;
            }
            else
            {
                output.Append(c);
                i++;
            }
        }
        return output.ToString();
    }
}
