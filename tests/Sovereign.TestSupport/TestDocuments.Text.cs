using System.Text;

namespace Sovereign.TestSupport;

/// <summary>
/// Real files for tests, made on the spot: PDFs with and without a text layer, DOCX, HTML, Markdown, CSV, images with
/// rendered English and Persian text, and hostile files. Every builder returns the file's bytes; the name a test
/// gives the file is its own business (extraction never looks at it). Thread-safe: nothing is shared.
/// </summary>
public static partial class TestDocuments
{
    public static byte[] Markdown(string title, params string[] paragraphs)
    {
        var text = new StringBuilder().Append("# ").Append(title).Append("\n\n");
        foreach (var paragraph in paragraphs)
        {
            text.Append(paragraph).Append("\n\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    public static byte[] Html(string title, params string[] paragraphs)
    {
        var text = new StringBuilder()
            .Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").Append(Escape(title)).Append("</title></head><body>\n")
            .Append("<h1>").Append(Escape(title)).Append("</h1>\n");
        foreach (var paragraph in paragraphs)
        {
            text.Append("<p>").Append(Escape(paragraph)).Append("</p>\n");
        }

        return Encoding.UTF8.GetBytes(text.Append("</body></html>\n").ToString());
    }

    public static byte[] PlainText(params string[] paragraphs) => Encoding.UTF8.GetBytes(string.Join("\n\n", paragraphs) + "\n");

    /// <summary>RFC 4180 CSV: the header row, then the rows; fields quoted where they need it.</summary>
    public static byte[] Csv(IReadOnlyList<string> headers, params IReadOnlyList<string>[] rows)
    {
        var text = new StringBuilder();
        AppendRow(headers);
        foreach (var row in rows)
        {
            AppendRow(row);
        }

        return Encoding.UTF8.GetBytes(text.ToString());

        void AppendRow(IReadOnlyList<string> fields)
        {
            text.AppendJoin(',', fields.Select(f => f.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + f.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : f)).Append("\r\n");
        }
    }

    private static string Escape(string text) => System.Net.WebUtility.HtmlEncode(text);
}
