using System.IO.Compression;
using System.Text;
using System.Xml;
using Sovereign.Core.Errors;

namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// DOCX read directly from its zip: only word/document.xml is inflated, through a stream that counts what it
/// inflates and stops at <see cref="ExtractionLimits.MaxUncompressedBytes"/> or at a compression ratio no real
/// document has (a zip bomb); the sizes the archive declares are checked first but never trusted. The XML is read
/// forward-only with DTDs prohibited. Headings come from the paragraph style (Heading1–9, Title) or outline level,
/// list items from numbering, table rows as "header: value" pairs.
/// </summary>
internal static class DocxReader
{
    private const string WordNamespace = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
    private const int MaxEntries = 10_000;

    /// <summary>Real document.xml files compress ten or twenty to one; a thousand to one is a bomb.</summary>
    private const long MaxRatio = 200;

    /// <summary>Below this, any ratio is harmless.</summary>
    private const long RatioFloorBytes = 4L * 1024 * 1024;

    public static ExtractedDocument Read(string path, ExtractionLimits limits, CancellationToken cancellationToken)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            if (zip.Entries.Count > MaxEntries)
            {
                throw Bomb($"it holds {zip.Entries.Count:N0} entries");
            }

            var entry = zip.GetEntry("word/document.xml") ?? throw new SovereignException(
                ErrorKind.UnsupportedMediaType,
                "The file is a zip archive but not a Word document (no word/document.xml); only DOCX is supported among zip formats.",
                "file",
                "unsupported_document");

            var ratioLimit = Math.Max(RatioFloorBytes, entry.CompressedLength * MaxRatio);
            if (entry.Length > limits.MaxUncompressedBytes || entry.Length > ratioLimit)
            {
                throw Bomb($"its text part declares {entry.Length:N0} bytes from {entry.CompressedLength:N0} compressed");
            }

            using var inflated = new BoundedStream(entry.Open(), Math.Min(limits.MaxUncompressedBytes, ratioLimit), entry.CompressedLength, cancellationToken);
            return new ExtractedDocument(MediaTypes.Docx, ReadBody(inflated), 1);
        }
        catch (InvalidDataException e)
        {
            throw SovereignException.Invalid($"The Word document is damaged: {e.Message}", "file", "corrupt_docx");
        }
        catch (XmlException e)
        {
            throw SovereignException.Invalid($"The Word document's XML is damaged: {e.Message}", "file", "corrupt_docx");
        }
    }

    private static List<TextBlock> ReadBody(Stream xml)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            CloseInput = false,
        };
        using var reader = XmlReader.Create(xml, settings);
        var blocks = new List<TextBlock>();
        var paragraph = new StringBuilder();
        string? style = null;
        var outlineLevel = -1;
        var isList = false;

        // Tables: the cells of the current row, the header row once known, and the depth of nesting.
        var tableDepth = 0;
        List<string>? row = null;
        List<string>? headers = null;
        var rowIndex = 0;
        var cell = new StringBuilder();

        // ReadElementContentAsString leaves the reader on the next node already; that node must not be skipped.
        var advanced = false;
        while (advanced || reader.Read())
        {
            advanced = false;
            if (reader.NamespaceURI != WordNamespace)
            {
                continue;
            }

            if (reader.NodeType == XmlNodeType.EndElement)
            {
                HandleEnd(reader.LocalName);
                continue;
            }

            if (reader.NodeType != XmlNodeType.Element)
            {
                continue;
            }

            switch (reader.LocalName)
            {
                case "p":
                    paragraph.Clear();
                    style = null;
                    outlineLevel = -1;
                    isList = false;
                    if (reader.IsEmptyElement)
                    {
                        EndParagraph();
                    }

                    break;
                case "pStyle":
                    style = reader.GetAttribute("val", WordNamespace);
                    break;
                case "outlineLvl" when int.TryParse(reader.GetAttribute("val", WordNamespace), out var level):
                    outlineLevel = level;
                    break;
                case "numPr":
                    isList = true;
                    break;
                case "t" when !reader.IsEmptyElement:
                    paragraph.Append(reader.ReadElementContentAsString());
                    advanced = true;
                    break;
                case "tab":
                    paragraph.Append(' ');
                    break;
                case "br" or "cr":
                    paragraph.Append('\n');
                    break;
                case "tbl":
                    tableDepth++;
                    if (tableDepth == 1)
                    {
                        headers = null;
                        rowIndex = 0;
                    }

                    break;
                case "tr" when tableDepth == 1:
                    row = [];
                    break;
                case "tc" when tableDepth == 1:
                    cell.Clear();
                    break;
            }
        }

        return blocks;

        void HandleEnd(string name)
        {
            switch (name)
            {
                case "p":
                    EndParagraph();
                    break;
                case "tc" when tableDepth == 1:
                    row?.Add(TextNormalizer.CollapseSpaces(cell.ToString()));
                    break;
                case "tr" when tableDepth == 1 && row is not null:
                    if (rowIndex++ == 0)
                    {
                        headers = row;
                    }
                    else
                    {
                        var text = TableRowText.Format(headers, row);
                        if (text.Length > 0)
                        {
                            blocks.Add(new TextBlock(BlockKind.TableRow, text));
                        }
                    }

                    row = null;
                    break;
                case "tbl":
                    if (tableDepth == 1 && rowIndex == 1 && headers is not null)
                    {
                        // A one-row table: its only row is content, not a header.
                        var text = TableRowText.Format(null, headers);
                        if (text.Length > 0)
                        {
                            blocks.Add(new TextBlock(BlockKind.TableRow, text));
                        }
                    }

                    tableDepth = Math.Max(0, tableDepth - 1);
                    break;
            }
        }

        void EndParagraph()
        {
            var text = paragraph.ToString();
            paragraph.Clear();
            if (tableDepth > 0)
            {
                if (cell.Length > 0)
                {
                    cell.Append(' ');
                }

                cell.Append(text);
                return;
            }

            text = text.Trim();
            if (text.Length == 0)
            {
                return;
            }

            var headingLevel = HeadingLevel(style, outlineLevel);
            if (headingLevel > 0)
            {
                blocks.Add(new TextBlock(BlockKind.Heading, TextNormalizer.CollapseSpaces(text), HeadingLevel: headingLevel));
            }
            else
            {
                blocks.Add(new TextBlock(isList ? BlockKind.ListItem : BlockKind.Paragraph, text));
            }
        }
    }

    private static int HeadingLevel(string? style, int outlineLevel)
    {
        if (style is not null)
        {
            if (style.Equals("Title", StringComparison.OrdinalIgnoreCase))
            {
                return 1;
            }

            if (style.StartsWith("Heading", StringComparison.OrdinalIgnoreCase) && int.TryParse(style.AsSpan(7), out var level) && level is >= 1 and <= 9)
            {
                return Math.Min(level, 6);
            }
        }

        return outlineLevel is >= 0 and <= 8 ? Math.Min(outlineLevel + 1, 6) : 0;
    }

    private static SovereignException Bomb(string why) => new(
        ErrorKind.PayloadTooLarge,
        $"The Word document was refused as a possible zip bomb: {why}.",
        "file",
        "archive_too_large");

    /// <summary>Counts inflated bytes and refuses to go past the limit, whatever the archive declared.</summary>
    private sealed class BoundedStream(Stream inner, long limit, long compressedLength, CancellationToken cancellationToken) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var read = inner.Read(buffer, offset, count);
            _read += read;
            if (_read > limit)
            {
                throw Bomb($"its text part inflates past {limit:N0} bytes from {compressedLength:N0} compressed");
            }

            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
