namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// RFC 4180 CSV (quoted fields, doubled quotes, line breaks inside quotes), with the delimiter (comma, semicolon or
/// tab) chosen by which one splits the first lines into the same number of fields. The first row is the header; every
/// other row becomes one <see cref="BlockKind.TableRow"/> of "header: value" pairs.
/// </summary>
internal static class CsvParser
{
    private static readonly char[] Delimiters = [',', ';', '\t'];

    public static List<TextBlock> Read(string text)
    {
        var delimiter = DetectDelimiter(text) ?? ',';
        var rows = Parse(text, delimiter);
        var blocks = new List<TextBlock>();
        if (rows.Count == 0)
        {
            return blocks;
        }

        var headers = rows[0];
        foreach (var row in rows.Skip(1))
        {
            var line = TableRowText.Format(headers, [.. row.Select(TextNormalizer.CollapseSpaces)]);
            if (line.Length > 0)
            {
                blocks.Add(new TextBlock(BlockKind.TableRow, line));
            }
        }

        return blocks;
    }

    /// <summary>At least two lines that one delimiter splits into the same number (two or more) of fields.</summary>
    public static bool LooksLikeCsv(string head)
    {
        return DetectDelimiter(head) is not null;
    }

    private static char? DetectDelimiter(string text)
    {
        // Only whole lines count: the head may end mid-line.
        var lines = text.Split('\n').Take(20).ToList();
        if (text.Length >= 4096 && lines.Count > 1)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        lines = [.. lines.Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0)];
        if (lines.Count < 2)
        {
            return null;
        }

        foreach (var delimiter in Delimiters)
        {
            var rows = Parse(string.Join('\n', lines), delimiter);
            if (rows.Count >= 2 && rows[0].Count >= 2 && rows.All(r => r.Count == rows[0].Count)
                && rows[0].All(h => h.Length is > 0 and <= 64))
            {
                return delimiter;
            }
        }

        return null;
    }

    internal static List<List<string>> Parse(string text, char delimiter)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new System.Text.StringBuilder();
        var quoted = false;
        var fieldStarted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (quoted)
            {
                if (ch == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    field.Append(ch);
                }

                continue;
            }

            if (ch == '"' && field.Length == 0)
            {
                quoted = true;
                fieldStarted = true;
            }
            else if (ch == delimiter)
            {
                row.Add(field.ToString());
                field.Clear();
                fieldStarted = true;
            }
            else if (ch is '\n' or '\r')
            {
                if (ch == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                EndRow();
            }
            else
            {
                field.Append(ch);
                fieldStarted = true;
            }
        }

        EndRow();
        return rows;

        void EndRow()
        {
            if (fieldStarted || field.Length > 0 || row.Count > 0)
            {
                row.Add(field.ToString());
                rows.Add(row);
            }

            row = [];
            field.Clear();
            fieldStarted = false;
        }
    }
}
