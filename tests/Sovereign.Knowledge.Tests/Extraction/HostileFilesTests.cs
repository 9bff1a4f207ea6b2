using System.Diagnostics;
using Sovereign.Core.Errors;
using Sovereign.Knowledge.Extraction;
using Sovereign.TestSupport;

namespace Sovereign.Knowledge.Tests.Extraction;

/// <summary>
/// Issue 4, item 10: each hostile file gets a clear error and harms nothing. Serial, so that the memory and process
/// measurements see only their own test.
/// </summary>
[Collection(SerialMeasurements.Name)]
public sealed class HostileFilesTests : IDisposable
{
    private readonly TempFiles _files = new();
    private readonly DocumentExtractor _extractor = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Corrupt_pdf_is_refused_as_damaged()
    {
        var path = _files.Write("broken.pdf", TestDocuments.CorruptPdf());

        var error = await Refused(path, new ExtractionLimits());

        Assert.Equal(ErrorKind.InvalidRequest, error.Kind);
        Assert.Equal("corrupt_pdf", error.Code);
        Assert.Contains("PDF", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Docx_zip_bomb_is_refused_before_it_inflates()
    {
        var path = _files.Write("bomb.docx", TestDocuments.DocxZipBomb(inflatedBytes: 300L * 1024 * 1024));
        Assert.True(new FileInfo(path).Length < 2 * 1024 * 1024, "the bomb is small on disk");
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var error = await Refused(path, new ExtractionLimits());

        Assert.Equal(ErrorKind.PayloadTooLarge, error.Kind);
        Assert.Equal("archive_too_large", error.Code);
        Assert.Contains("zip bomb", error.Message, StringComparison.Ordinal);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 100L * 1024 * 1024, "the bomb was not inflated into memory");
    }

    [Fact]
    public async Task Docx_whose_headers_understate_its_size_is_inflated_no_further_than_declared()
    {
        // The headers claim 2,000 bytes; 100 MB are really in there. The reader stops at the declared size (and
        // counts what it inflates besides), so the document reads as cut short: damaged, and nothing was expanded.
        var path = _files.Write("bomb.docx", TestDocuments.DocxZipBomb(inflatedBytes: 100L * 1024 * 1024, declaredBytes: 2_000));
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var error = await Refused(path, new ExtractionLimits());

        Assert.Equal(ErrorKind.InvalidRequest, error.Kind);
        Assert.Equal("corrupt_docx", error.Code);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 50L * 1024 * 1024, "the hidden 100 MB were not inflated");
    }

    [Fact]
    public async Task Pdf_of_ten_thousand_pages_is_refused_by_its_page_count_without_reading_pages()
    {
        var path = _files.Write("huge.pdf", TestDocuments.PdfWithEmptyPages(10_000));
        var clock = Stopwatch.StartNew();

        var error = await Refused(path, new ExtractionLimits());

        Assert.Equal(ErrorKind.PayloadTooLarge, error.Kind);
        Assert.Equal("too_many_pages", error.Code);
        Assert.Contains("10,000 pages", error.Message, StringComparison.Ordinal);
        // Generous: reading 10,000 pages would take far longer than counting them.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Image_of_twenty_thousand_by_twenty_thousand_pixels_is_refused_from_its_header()
    {
        var path = _files.Write("poster.png", TestDocuments.HugePng(20_000, 20_000));
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var error = await Refused(path, new ExtractionLimits());

        Assert.Equal(ErrorKind.PayloadTooLarge, error.Kind);
        Assert.Equal("image_too_large", error.Code);
        Assert.Contains("20,000 × 20,000", error.Message, StringComparison.Ordinal);
        Assert.Contains("not decoded", error.Message, StringComparison.Ordinal);
        // 400 million pixels were never decoded: only the compressed file passed through memory.
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 50L * 1024 * 1024);
    }

    [Fact]
    public async Task File_whose_name_lies_about_its_type_is_read_as_what_its_bytes_are()
    {
        var pdfNamedDocx = _files.Write("contract.docx", TestDocuments.PdfWithTextLayer("Signed by both parties."));
        var pngNamedTxt = _files.Write("notes.txt", TestDocuments.PngOfText("Meeting minutes"));

        var pdf = await _extractor.ExtractAsync(pdfNamedDocx, new ExtractionLimits());
        var png = await _extractor.ExtractAsync(pngNamedTxt, new ExtractionLimits());

        Assert.Equal("application/pdf", pdf.MediaType);
        Assert.Contains("Signed by both parties.", pdf.Blocks.Single().Text, StringComparison.Ordinal);
        Assert.Equal("image/png", png.MediaType);
        Assert.Contains("minutes", string.Join(" ", png.Blocks.Select(b => b.Text)), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Zip_that_is_not_a_word_document_is_refused_as_unsupported()
    {
        var zip = new MemoryStream();
        using (var archive = new System.IO.Compression.ZipArchive(zip, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            using var writer = new StreamWriter(archive.CreateEntry("readme.txt").Open());
            writer.Write("not a document");
        }

        var error = await Refused(_files.Write("report.docx", zip.ToArray()), new ExtractionLimits());

        Assert.Equal(ErrorKind.UnsupportedMediaType, error.Kind);
    }

    [Fact]
    public async Task Empty_file_is_refused()
    {
        var error = await Refused(_files.Write("empty.pdf", []), new ExtractionLimits());

        Assert.Equal(ErrorKind.InvalidRequest, error.Kind);
        Assert.Equal("empty_document", error.Code);
    }

    [Fact]
    public async Task File_over_the_size_limit_is_refused_before_it_is_read()
    {
        var path = _files.Write("big.txt", new string('a', 10_000));

        var error = await Refused(path, new ExtractionLimits { MaxBytes = 1_000 });

        Assert.Equal(ErrorKind.PayloadTooLarge, error.Kind);
        Assert.Equal("document_too_large", error.Code);
        Assert.Contains("10,000 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Extraction_past_its_time_limit_is_stopped_and_its_helper_processes_are_killed()
    {
        var path = _files.Write("scan.pdf", TestDocuments.PdfWithoutTextLayer([.. Enumerable.Range(1, 8).Select(i => $"Scanned page {i}")]));
        var clock = Stopwatch.StartNew();

        var extraction = _extractor.ExtractAsync(path, new ExtractionLimits { MaxTime = TimeSpan.FromSeconds(4) });
        var error = await Assert.ThrowsAsync<SovereignException>(() => extraction);
        Assert.Equal(ErrorKind.PayloadTooLarge, error.Kind);
        Assert.Equal("extraction_timeout", error.Code);
        // OCR of eight pages takes far longer; the deadline returned soon after it passed (generous for a busy machine).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
        Assert.Empty(HelperChildren());
    }

    /// <summary>pdftoppm and tesseract processes this test process started that are still alive.</summary>
    private static List<string> HelperChildren()
    {
        var found = new List<string>();
        foreach (var folder in Directory.EnumerateDirectories("/proc").Where(f => Path.GetFileName(f).All(char.IsAsciiDigit)))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(folder, "stat"));
                var close = stat.LastIndexOf(')');
                var name = stat[(stat.IndexOf('(') + 1)..close];
                var fields = stat[(close + 2)..].Split(' ');
                if (name is "tesseract" or "pdftoppm" && fields[0] != "Z" && int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) == Environment.ProcessId)
                {
                    found.Add($"{name}:{Path.GetFileName(folder)}");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked, or is not ours to read.
            }
        }

        return found;
    }

    [Fact]
    public async Task Jpeg_over_the_pixel_limit_is_refused_from_its_frame_header()
    {
        var path = _files.Write("photo.jpg", TestDocuments.JpegOfText("Tiny limit"));

        var error = await Refused(path, new ExtractionLimits { MaxPixels = 10_000 });

        Assert.Equal("image_too_large", error.Code);
    }

    private async Task<SovereignException> Refused(string path, ExtractionLimits limits) =>
        await Assert.ThrowsAsync<SovereignException>(() => _extractor.ExtractAsync(path, limits));
}
