using System.Globalization;
using System.Text;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Sovereign.TestSupport;

public static partial class TestDocuments
{
    /// <summary>A PDF whose pages carry a text layer (Helvetica; English, Latin-1): one string of lines per page.</summary>
    public static byte[] PdfWithTextLayer(params string[] pages)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        foreach (var pageText in pages)
        {
            var page = builder.AddPage(PageSize.A4);
            var y = 780.0;
            foreach (var line in pageText.Split('\n'))
            {
                page.AddText(line, 12, new PdfPoint(50, y), font);
                y -= 18;
            }
        }

        return builder.Build();
    }

    /// <summary>
    /// A scanned-looking PDF: each page is only a picture of its text (rendered with <see cref="PngOfText"/>), with no
    /// text layer, so its words can be read only through OCR.
    /// </summary>
    public static byte[] PdfWithoutTextLayer(params string[] pages)
    {
        var builder = new PdfDocumentBuilder();
        foreach (var pageText in pages)
        {
            var page = builder.AddPage(PageSize.A4);
            var png = PngOfText(pageText, fontSize: 40);
            var (width, height) = PngSize(png);
            // Drawn at 150 dpi: the page picture is as sharp as a decent scan.
            var w = width * 72.0 / 150;
            var h = height * 72.0 / 150;
            page.AddPng(png, new PdfRectangle(40, 800 - h, 40 + w, 800));
        }

        return builder.Build();
    }

    /// <summary>
    /// A minimal, valid PDF of <paramref name="pageCount"/> empty pages, written directly (a builder would take far
    /// longer for thousands of pages): the shape of a hostile "10,000 page" upload.
    /// </summary>
    public static byte[] PdfWithEmptyPages(int pageCount)
    {
        var output = new MemoryStream();
        var offsets = new List<long>();
        Write("%PDF-1.4\n");
        Object(1, "<< /Type /Catalog /Pages 2 0 R >>");
        var kids = new StringBuilder();
        for (var i = 0; i < pageCount; i++)
        {
            kids.Append(CultureInfo.InvariantCulture, $"{i + 3} 0 R ");
        }

        Object(2, $"<< /Type /Pages /Count {pageCount} /Kids [{kids}] >>");
        for (var i = 0; i < pageCount; i++)
        {
            Object(i + 3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>");
        }

        var xref = output.Position;
        var table = new StringBuilder();
        table.Append(CultureInfo.InvariantCulture, $"xref\n0 {offsets.Count + 1}\n0000000000 65535 f \n");
        foreach (var offset in offsets)
        {
            table.Append(CultureInfo.InvariantCulture, $"{offset:D10} 00000 n \n");
        }

        table.Append(CultureInfo.InvariantCulture, $"trailer\n<< /Size {offsets.Count + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        Write(table.ToString());
        return output.ToArray();

        void Object(int number, string body)
        {
            offsets.Add(output.Position);
            Write(string.Create(CultureInfo.InvariantCulture, $"{number} 0 obj\n{body}\nendobj\n"));
        }

        void Write(string text)
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            output.Write(bytes);
        }
    }

    /// <summary>A file that starts like a PDF and then is garbage: no objects, no cross-reference table.</summary>
    public static byte[] CorruptPdf()
    {
        var bytes = new byte[4096];
        new Random(42).NextBytes(bytes);
        var header = "%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R"u8;
        header.CopyTo(bytes);
        return bytes;
    }
}
