using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sovereign.Bench.Reporting;

/// <summary>Writes a run's files: results.json, results.md and the PNG plots. Stateless; thread-safe.</summary>
public static class ReportWriter
{
    public const string JsonFile = "results.json";
    public const string MarkdownFile = "results.md";

    /// <summary>snake_case, indented, nulls kept (a missing figure shows as null rather than vanishing).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Writes every file into <paramref name="directory"/> (created if needed) and returns their paths. A plot that
    /// cannot be drawn is reported to <paramref name="onError"/> and skipped; the JSON and Markdown are always written.
    /// </summary>
    public static IReadOnlyList<string> WriteAll(BenchReport report, string directory, Action<string>? onError = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        var files = new List<string>();

        List<string> plots = [];
        try
        {
            plots.AddRange(PlotWriter.WriteAll(report, directory));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var message = $"plots: {e.Message}";
            report.Errors.Add(message);
            onError?.Invoke(message);
        }

        var json = Path.Combine(directory, JsonFile);
        File.WriteAllText(json, JsonSerializer.Serialize(report, JsonOptions));
        files.Add(json);
        var markdown = Path.Combine(directory, MarkdownFile);
        File.WriteAllText(markdown, MarkdownReport.Render(report, plots.Select(Path.GetFileName).OfType<string>().ToArray()));
        files.Add(markdown);
        files.AddRange(plots);
        return files;
    }
}
