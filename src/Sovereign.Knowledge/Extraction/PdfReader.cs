using System.Globalization;
using System.Text.RegularExpressions;
using Sovereign.Core.Errors;
using UglyToad.PdfPig;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;

namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// PDF through PdfPig: the page count is checked before any page is read, each page's text layer is taken in content
/// order with its page number, and a page without a text layer but with pictures (a scan) is rendered by poppler's
/// pdftoppm at a resolution that keeps it under the pixel limit and read through OCR.
/// </summary>
internal static partial class PdfReader
{
    private const int OcrDpi = 300;
    private const int MinimumOcrDpi = 72;

    public static async Task<ExtractedDocument> ReadAsync(string path, ExtractionLimits limits, CancellationToken cancellationToken)
    {
        // PdfPig cannot be cancelled; a hostile file that makes it spin is left to a pool thread while the deadline
        // returns control to the caller.
        var document = await Task.Run(() => Open(path), cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
        using (document)
        {
            var pageCount = document.NumberOfPages;
            if (pageCount > limits.MaxPages)
            {
                throw new SovereignException(
                    ErrorKind.PayloadTooLarge,
                    $"The PDF has {pageCount:N0} pages, over the limit of {limits.MaxPages:N0}; no page was read.",
                    "file",
                    "too_many_pages");
            }

            var blocks = new List<TextBlock>();
            var ocrPages = 0;
            string? scratch = null;
            try
            {
                for (var number = 1; number <= pageCount; number++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var (text, hasImages, width, height) = await Task.Run(() => ReadPage(document, number), cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
                    if (!string.IsNullOrWhiteSpace(text))
                    {
                        blocks.AddRange(Paragraphs(text, number));
                        continue;
                    }

                    if (!hasImages)
                    {
                        continue;
                    }

                    scratch ??= Directory.CreateTempSubdirectory("sov-pdf-ocr-").FullName;
                    var image = await RenderAsync(path, number, width, height, scratch, limits, cancellationToken).ConfigureAwait(false);
                    var pages = await TesseractOcr.ReadPagesAsync(image, limits.OcrLanguages, cancellationToken).ConfigureAwait(false);
                    blocks.AddRange(pages.SelectMany(p => TesseractOcr.Blocks(p, number)));
                    File.Delete(image);
                    ocrPages++;
                }
            }
            finally
            {
                if (scratch is not null)
                {
                    Directory.Delete(scratch, recursive: true);
                }
            }

            return new ExtractedDocument(MediaTypes.Pdf, blocks, pageCount, ocrPages);
        }
    }

    private static PdfDocument Open(string path)
    {
        try
        {
            return PdfDocument.Open(path, new ParsingOptions { UseLenientParsing = true, SkipMissingFonts = true });
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            throw Corrupt(e);
        }
    }

    private static (string Text, bool HasImages, double Width, double Height) ReadPage(PdfDocument document, int number)
    {
        try
        {
            var page = document.GetPage(number);
            var text = page.Letters.Count == 0 ? string.Empty : ContentOrderTextExtractor.GetText(page);
            var hasImages = text.Length == 0 && page.GetImages().Any();
            return (text, hasImages, page.Width, page.Height);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            throw Corrupt(e, number);
        }
    }

    /// <summary>Renders one page to a grey PNG with pdftoppm, at 300 dpi or less so it stays under the pixel limit.</summary>
    private static async Task<string> RenderAsync(string path, int page, double widthPoints, double heightPoints, string scratch, ExtractionLimits limits, CancellationToken cancellationToken)
    {
        var inches = Math.Max(widthPoints, 1) / 72.0 * (Math.Max(heightPoints, 1) / 72.0);
        var dpi = (int)Math.Min(OcrDpi, Math.Floor(Math.Sqrt(limits.MaxPixels / inches)));
        if (dpi < MinimumOcrDpi)
        {
            throw new SovereignException(
                ErrorKind.PayloadTooLarge,
                $"Page {page} of the PDF is too large to read through OCR within the limit of {limits.MaxPixels:N0} pixels.",
                "file",
                "image_too_large");
        }

        var prefix = Path.Combine(scratch, string.Create(CultureInfo.InvariantCulture, $"page-{page}"));
        var number = page.ToString(CultureInfo.InvariantCulture);
        var result = await ExternalProcess.RunAsync(
            "pdftoppm",
            ["-f", number, "-l", number, "-r", dpi.ToString(CultureInfo.InvariantCulture), "-gray", "-png", "-singlefile", path, prefix],
            cancellationToken).ConfigureAwait(false);
        var image = prefix + ".png";
        if (result.ExitCode != 0 || !File.Exists(image))
        {
            throw SovereignException.Invalid($"Page {page} of the PDF could not be rendered for OCR: {result.Error.Trim()}", "file", "corrupt_pdf");
        }

        return image;
    }

    private static IEnumerable<TextBlock> Paragraphs(string text, int page)
    {
        foreach (var paragraph in BlankLines().Split(text.Replace("\r\n", "\n", StringComparison.Ordinal)))
        {
            var lines = paragraph.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0);
            var joined = string.Join('\n', lines);
            if (joined.Length > 0)
            {
                yield return new TextBlock(BlockKind.Paragraph, joined, page);
            }
        }
    }

    private static SovereignException Corrupt(Exception e, int? page = null) => new(
        ErrorKind.InvalidRequest,
        page is null ? $"The PDF is damaged or not a PDF that can be read: {e.Message}" : $"Page {page} of the PDF is damaged: {e.Message}",
        "file",
        "corrupt_pdf",
        e);

    [GeneratedRegex(@"\n\s*\n")]
    private static partial Regex BlankLines();
}
