using Sovereign.Knowledge.Extraction;
using Sovereign.TestSupport;

namespace Sovereign.Knowledge.Tests.Extraction;

/// <summary>Real files made by <see cref="TestDocuments"/>, read with real PdfPig, pdftoppm and Tesseract.</summary>
public sealed class BinaryFormatsExtractionTests : IDisposable
{
    private const string ZeroWidthNonJoiner = "\u200C";
    private readonly TempFiles _files = new();
    private readonly DocumentExtractor _extractor = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Pdf_text_layer_is_read_with_the_page_each_passage_is_on()
    {
        var path = _files.Write("report.pdf", TestDocuments.PdfWithTextLayer(
            "Annual report\nRevenue rose in the north.",
            "Staffing\nNurses were hired in March.",
            "Outlook\nThe clinic opens in June."));

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        Assert.Equal("application/pdf", document.MediaType);
        Assert.Equal(3, document.PageCount);
        Assert.Equal(0, document.OcrPages);
        Assert.Equal(1, PageOf(document, "Revenue rose"));
        Assert.Equal(2, PageOf(document, "Nurses were hired"));
        Assert.Equal(3, PageOf(document, "clinic opens"));
    }

    [Fact]
    public async Task Pdf_page_without_a_text_layer_is_rendered_and_read_through_ocr()
    {
        var path = _files.Write("scan.pdf", TestDocuments.PdfWithoutTextLayer("Scanned invoice number\nTotal amount due"));

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        Assert.Equal("application/pdf", document.MediaType);
        Assert.Equal(1, document.OcrPages);
        var text = AllText(document);
        Assert.Contains("invoice", text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("amount", text, StringComparison.OrdinalIgnoreCase);
        Assert.All(document.Blocks, b => Assert.Equal(1, b.Page));
    }

    [Fact]
    public async Task Docx_gives_headings_paragraphs_table_rows_and_persian_with_its_non_joiners()
    {
        var persian = $"می{ZeroWidthNonJoiner}خواهم کتاب{ZeroWidthNonJoiner}ها را بخوانم";
        var path = _files.Write("policy.docx", TestDocuments.Docx(
            "Leave policy",
            [("Annual leave", ["Staff receive thirty days.", persian])],
            [["Grade", "Days"], ["Senior", "35"]]));

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        Assert.Equal("application/vnd.openxmlformats-officedocument.wordprocessingml.document", document.MediaType);
        Assert.Equal(
            [
                new TextBlock(BlockKind.Heading, "Leave policy", HeadingLevel: 1),
                new TextBlock(BlockKind.Heading, "Annual leave", HeadingLevel: 2),
                new TextBlock(BlockKind.Paragraph, "Staff receive thirty days."),
                new TextBlock(BlockKind.Paragraph, persian),
                new TextBlock(BlockKind.TableRow, "Grade: Senior | Days: 35"),
            ],
            document.Blocks);
    }

    [Fact]
    public async Task Csv_rows_become_table_rows_that_name_their_headers()
    {
        var path = _files.Write("beds.csv", TestDocuments.Csv(["Ward", "Beds", "Note"], ["Cardiology", "24", "near lift, 3rd floor"], ["Maternity", "18", "\"quiet\" wing"]));

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        Assert.Equal("text/csv", document.MediaType);
        Assert.Equal(
            [
                new TextBlock(BlockKind.TableRow, "Ward: Cardiology | Beds: 24 | Note: near lift, 3rd floor"),
                new TextBlock(BlockKind.TableRow, "Ward: Maternity | Beds: 18 | Note: \"quiet\" wing"),
            ],
            document.Blocks);
    }

    [Theory]
    [InlineData("png")]
    [InlineData("jpeg")]
    public async Task English_text_in_an_image_is_read_through_ocr(string kind)
    {
        const string text = "The quarterly report\nshows revenue growth";
        var bytes = kind == "png" ? TestDocuments.PngOfText(text) : TestDocuments.JpegOfText(text);
        var path = _files.Write("picture", bytes);

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        Assert.Equal($"image/{kind}", document.MediaType);
        Assert.Equal(1, document.OcrPages);
        var words = AllText(document);
        Assert.Contains("quarterly", words, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("revenue", words, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("growth", words, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Multi_page_tiff_is_read_page_by_page_with_page_numbers()
    {
        var path = _files.Write("fax.tif", TestDocuments.TiffOfText("Referral letter", "Blood results"));

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        Assert.Equal("image/tiff", document.MediaType);
        Assert.Equal(2, document.PageCount);
        Assert.Equal(1, PageOf(document, "Referral"));
        Assert.Equal(2, PageOf(document, "Blood"));
    }

    [Fact]
    public async Task Persian_text_in_an_image_comes_out_in_logical_order_with_zero_width_non_joiners()
    {
        var path = _files.Write("fa.png", TestDocuments.PngOfPersianText($"گزارش سالانه بیمارستان\nمی{ZeroWidthNonJoiner}خواهم کتاب{ZeroWidthNonJoiner}ها را بخوانم"));

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        var text = AllText(document);
        // Logical order: the words read as typed, not reversed glyph by glyph; no presentation forms.
        Assert.Contains("گزارش", text, StringComparison.Ordinal);
        Assert.Contains("بیمارستان", text, StringComparison.Ordinal);
        Assert.Contains($"کتاب{ZeroWidthNonJoiner}ها", text, StringComparison.Ordinal);
        Assert.DoesNotContain(text, c => c is (>= '\uFB50' and <= '\uFDFF') or (>= '\uFE70' and <= '\uFEFE'));
    }

    private static string AllText(ExtractedDocument document) => string.Join("\n", document.Blocks.Select(b => b.Text));

    private static int? PageOf(ExtractedDocument document, string words) =>
        document.Blocks.First(b => b.Text.Contains(words, StringComparison.OrdinalIgnoreCase)).Page;
}
