using System.Text.RegularExpressions;
using Sovereign.Core.Errors;

namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// Optical character recognition through the Tesseract command line (Debian's tesseract-ocr with the eng, fas and
/// ara packs). Tesseract writes Persian and Arabic in logical order with zero-width non-joiners kept; what it emits
/// in presentation forms is normalised later with everything else (<see cref="TextNormalizer"/>).
/// Stateless and thread-safe.
/// </summary>
internal static partial class TesseractOcr
{
    // Tesseract's OpenMP threads fight each other on small machines; one thread per process is faster overall.
    private static readonly Dictionary<string, string> Environment = new() { ["OMP_THREAD_LIMIT"] = "1" };

    /// <summary>Reads an image file (any page count); returns the text of each page in order.</summary>
    public static async Task<IReadOnlyList<string>> ReadPagesAsync(string imagePath, string languages, CancellationToken cancellationToken)
    {
        if (!Languages().IsMatch(languages))
        {
            throw new SovereignException(ErrorKind.InvalidRequest, $"OCR languages '{languages}' are not in Tesseract's form, e.g. eng+fas+ara.", "ocr_languages");
        }

        var result = await ExternalProcess.RunAsync("tesseract", [imagePath, "stdout", "-l", languages, "--psm", "3"], cancellationToken, Environment).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new SovereignException(
                ErrorKind.InvalidRequest,
                $"The image could not be read for OCR: {FirstLine(result.Error)}",
                "file",
                "ocr_failed");
        }

        // Tesseract ends every page with a form feed.
        var pages = result.Output.Split('\f').ToList();
        if (pages.Count > 1 && string.IsNullOrWhiteSpace(pages[^1]))
        {
            pages.RemoveAt(pages.Count - 1);
        }

        return pages;
    }

    /// <summary>Paragraphs of OCR text (Tesseract separates them with blank lines) as blocks of the given page.</summary>
    public static IEnumerable<TextBlock> Blocks(string pageText, int? page)
    {
        foreach (var paragraph in BlankLines().Split(pageText))
        {
            var text = string.Join('\n', paragraph.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
            if (text.Length > 0)
            {
                yield return new TextBlock(BlockKind.Paragraph, text, page);
            }
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault(l => l.Length > 0) ?? "unknown error";
        return line.Length > 200 ? line[..200] : line;
    }

    [GeneratedRegex(@"^[a-z_]{3,16}(\+[a-z_]{3,16}){0,7}$")]
    private static partial Regex Languages();

    [GeneratedRegex(@"\n\s*\n")]
    private static partial Regex BlankLines();
}
