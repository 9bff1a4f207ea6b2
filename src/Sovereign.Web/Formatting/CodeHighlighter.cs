using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Sovereign.Web.Formatting;

/// <summary>
/// A small highlighter for code in answers: comments, strings, numbers and keywords of the common languages get
/// <c>tok-c</c>, <c>tok-s</c>, <c>tok-n</c> and <c>tok-k</c> spans. Everything is HTML-escaped. It is a lexer, not
/// a parser: good enough to read code, never wrong in a way that hides text. Thread-safe.
/// </summary>
public static partial class CodeHighlighter
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "abstract", "and", "as", "async", "await", "bool", "break", "case", "catch", "class", "const", "continue", "def",
        "default", "del", "do", "double", "elif", "else", "enum", "except", "export", "extends", "false", "False", "final",
        "finally", "float", "fn", "for", "foreach", "from", "func", "function", "go", "if", "impl", "import", "in", "int",
        "interface", "is", "lambda", "let", "long", "match", "mut", "namespace", "new", "None", "not", "null", "nil", "or",
        "override", "package", "pass", "private", "protected", "pub", "public", "raise", "readonly", "record", "return",
        "sealed", "select", "self", "static", "string", "struct", "super", "switch", "this", "throw", "true", "True", "try",
        "type", "typeof", "use", "using", "var", "void", "where", "while", "with", "yield",
        "SELECT", "FROM", "WHERE", "INSERT", "UPDATE", "DELETE", "JOIN", "ON", "GROUP", "ORDER", "BY", "AS", "AND", "OR",
        "NOT", "NULL", "CREATE", "TABLE", "INTO", "VALUES",
    };

    private static readonly HashSet<string> HashCommentLanguages = new(StringComparer.OrdinalIgnoreCase)
    {
        "python", "py", "bash", "sh", "shell", "yaml", "yml", "ruby", "rb", "toml", "perl", "r", "powershell", "ps1", "dockerfile",
    };

    [GeneratedRegex("""(?<c>//[^\n]*|/\*[\s\S]*?\*/|--[^\n]*)|(?<s>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`[^`]*`)|(?<n>\b\d+(?:\.\d+)?\b)|(?<w>\b[A-Za-z_][A-Za-z0-9_]*\b)""")]
    private static partial Regex CStyle();

    [GeneratedRegex("""(?<c>#[^\n]*)|(?<s>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|(?<n>\b\d+(?:\.\d+)?\b)|(?<w>\b[A-Za-z_][A-Za-z0-9_]*\b)""")]
    private static partial Regex HashStyle();

    public static string Highlight(string code, string? language)
    {
        var lexer = language is not null && HashCommentLanguages.Contains(language) ? HashStyle() : CStyle();
        var html = new StringBuilder(code.Length + 64);
        var last = 0;
        foreach (Match match in lexer.Matches(code))
        {
            html.Append(WebUtility.HtmlEncode(code[last..match.Index]));
            last = match.Index + match.Length;
            var cls = match.Groups["c"].Success ? "tok-c"
                : match.Groups["s"].Success ? "tok-s"
                : match.Groups["n"].Success ? "tok-n"
                : Keywords.Contains(match.Value) ? "tok-k"
                : null;
            if (cls is null)
            {
                html.Append(WebUtility.HtmlEncode(match.Value));
                continue;
            }
            html.Append("<span class=\"").Append(cls).Append("\">").Append(WebUtility.HtmlEncode(match.Value)).Append("</span>");
        }
        html.Append(WebUtility.HtmlEncode(code[last..]));
        return html.ToString();
    }
}
