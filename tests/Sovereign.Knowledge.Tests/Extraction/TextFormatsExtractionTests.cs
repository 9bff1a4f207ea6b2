using Sovereign.Core.Errors;
using Sovereign.Knowledge.Extraction;

namespace Sovereign.Knowledge.Tests.Extraction;

public sealed class TextFormatsExtractionTests : IDisposable
{
    private readonly TempFiles _files = new();
    private readonly DocumentExtractor _extractor = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Markdown_gives_headings_with_levels_paragraphs_list_items_code_and_table_rows()
    {
        var path = _files.Write("guide.md", """
            # Pharmacy handbook

            Medicines are stored **below 25 °C** and away from [light](http://example.invalid).

            ## Dosage
            - Adults take *two* tablets.
            - Children take one tablet.

            ```
            dose = weight * 2
            ```

            | Drug | Max daily |
            |------|-----------|
            | Paracetamol | 4 g |
            """);

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        Assert.Equal("text/markdown", document.MediaType);
        Assert.Equal(
            [
                new TextBlock(BlockKind.Heading, "Pharmacy handbook", HeadingLevel: 1),
                new TextBlock(BlockKind.Paragraph, "Medicines are stored below 25 °C and away from light."),
                new TextBlock(BlockKind.Heading, "Dosage", HeadingLevel: 2),
                new TextBlock(BlockKind.ListItem, "Adults take two tablets."),
                new TextBlock(BlockKind.ListItem, "Children take one tablet."),
                new TextBlock(BlockKind.Code, "dose = weight * 2"),
                new TextBlock(BlockKind.TableRow, "Drug: Paracetamol | Max daily: 4 g"),
            ],
            document.Blocks);
    }

    [Fact]
    public async Task Html_gives_structure_and_drops_scripts_and_styles()
    {
        var path = _files.Write("page.html", """
            <!DOCTYPE html>
            <html><head><title>t</title><style>p { color: red }</style></head>
            <body>
              <script>alert('not text')</script>
              <h1>Visiting hours</h1>
              <p>Wards are open   from <b>10:00</b><br>to 20:00.</p>
              <h2>Exceptions</h2>
              <ul><li>Intensive care: family only</li><li>Maternity: partners any time</li></ul>
              <table>
                <tr><th>Ward</th><th>Floor</th></tr>
                <tr><td>Cardiology</td><td>3</td></tr>
              </table>
              <pre>line one
            line two</pre>
            </body></html>
            """);

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        Assert.Equal("text/html", document.MediaType);
        Assert.Equal(
            [
                new TextBlock(BlockKind.Heading, "Visiting hours", HeadingLevel: 1),
                new TextBlock(BlockKind.Paragraph, "Wards are open from 10:00 to 20:00."),
                new TextBlock(BlockKind.Heading, "Exceptions", HeadingLevel: 2),
                new TextBlock(BlockKind.ListItem, "Intensive care: family only"),
                new TextBlock(BlockKind.ListItem, "Maternity: partners any time"),
                new TextBlock(BlockKind.TableRow, "Ward: Cardiology | Floor: 3"),
                new TextBlock(BlockKind.Code, "line one\nline two"),
            ],
            document.Blocks);
    }

    [Fact]
    public async Task Plain_text_gives_paragraphs_split_at_blank_lines()
    {
        var path = _files.Write("notes.txt", "First paragraph,\nsecond line of it.\n\n\nSecond paragraph.\n");

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        Assert.Equal("text/plain", document.MediaType);
        Assert.Equal(
            [
                new TextBlock(BlockKind.Paragraph, "First paragraph,\nsecond line of it."),
                new TextBlock(BlockKind.Paragraph, "Second paragraph."),
            ],
            document.Blocks);
        Assert.Equal(1, document.PageCount);
    }

    [Fact]
    public async Task Persian_text_keeps_its_zero_width_non_joiners_and_logical_order()
    {
        // "می‌خواهم کتاب‌ها را بخوانم" with U+200C inside two words.
        const string persian = "می\u200Cخواهم کتاب\u200Cها را بخوانم";
        var path = _files.Write("fa.md", $"# راهنما\n\n{persian}\n");

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        Assert.Equal(new TextBlock(BlockKind.Heading, "راهنما", HeadingLevel: 1), document.Blocks[0]);
        Assert.Equal(persian, document.Blocks[1].Text);
    }

    [Fact]
    public async Task Html_in_a_file_named_txt_is_read_as_html_because_the_bytes_decide()
    {
        var path = _files.Write("innocent.txt", "<html><body><h2>Real title</h2><p>Body</p></body></html>");

        var document = await _extractor.ExtractAsync(path, new ExtractionLimits());

        Assert.Equal("text/html", document.MediaType);
        Assert.Equal(new TextBlock(BlockKind.Heading, "Real title", HeadingLevel: 2), document.Blocks[0]);
    }

    [Fact]
    public async Task Binary_garbage_is_refused_as_an_unsupported_type()
    {
        var path = _files.Write("data.txt", [0x00, 0x01, 0x02, 0xFF, 0xFE, 0x00, 0x10]);

        var error = await Assert.ThrowsAsync<SovereignException>(() => _extractor.ExtractAsync(path, new ExtractionLimits()));

        Assert.Equal(ErrorKind.UnsupportedMediaType, error.Kind);
    }
}
