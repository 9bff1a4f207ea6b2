namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// One table row as text that stands on its own: "Header: value | Header: value". A chunk that holds only some rows
/// of a table still says what each value means.
/// </summary>
internal static class TableRowText
{
    public static string Format(IReadOnlyList<string>? headers, IReadOnlyList<string> cells)
    {
        var parts = new List<string>(cells.Count);
        for (var i = 0; i < cells.Count; i++)
        {
            var value = cells[i].Trim();
            if (value.Length == 0)
            {
                continue;
            }

            var header = headers is not null && i < headers.Count ? headers[i].Trim() : string.Empty;
            parts.Add(header.Length > 0 ? $"{header}: {value}" : value);
        }

        return string.Join(" | ", parts);
    }
}
