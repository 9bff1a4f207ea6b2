using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Sovereign.Cli;

internal static class Format
{
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        var i = 0;
        while (v >= 1024 && i < units.Length - 1)
        {
            v /= 1024;
            i++;
        }
        return i == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{v:0.0} {units[i]}");
    }

    public static string Count(long? n) => n switch
    {
        null => "?",
        >= 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e9:0.0}B"),
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e6:0.0}M"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e3:0.0}K"),
        _ => n.Value.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>A JSON field as a table cell: escaped for Spectre markup, "—" when absent.</summary>
    public static string Cell(JsonNode? row, string field) => Markup.Escape(row?[field]?.ToString() ?? "—");

    /// <summary>A unix-seconds JSON field as a UTC date and time, "—" when absent.</summary>
    public static string UnixTime(JsonNode? row, string field) => row?[field] is JsonValue v && v.TryGetValue<long>(out var unix)
        ? DateTimeOffset.FromUnixTimeSeconds(unix).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)
        : "—";
}
