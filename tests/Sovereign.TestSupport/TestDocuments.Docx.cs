using System.Buffers.Binary;
using System.IO.Compression;
using System.Security;
using System.Text;

namespace Sovereign.TestSupport;

public static partial class TestDocuments
{
    private const string ContentTypes = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>
        """;

    private const string PackageRelationships = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>
        """;

    /// <summary>
    /// A Word document: a Heading 1 title, a Heading 2 per section with its paragraphs, and optionally a table whose
    /// first row is the header. Right-to-left paragraphs (Persian, Arabic) are marked bidi as Word marks them.
    /// </summary>
    public static byte[] Docx(string title, IReadOnlyList<(string Heading, string[] Paragraphs)> sections, IReadOnlyList<string[]>? table = null)
    {
        var body = new StringBuilder();
        body.Append(Paragraph(title, "Heading1"));
        foreach (var (heading, paragraphs) in sections)
        {
            body.Append(Paragraph(heading, "Heading2"));
            foreach (var paragraph in paragraphs)
            {
                body.Append(Paragraph(paragraph, null));
            }
        }

        if (table is not null)
        {
            body.Append("<w:tbl>");
            foreach (var row in table)
            {
                body.Append("<w:tr>");
                foreach (var cell in row)
                {
                    body.Append("<w:tc>").Append(Paragraph(cell, null)).Append("</w:tc>");
                }

                body.Append("</w:tr>");
            }

            body.Append("</w:tbl>");
        }

        return Package(DocumentXml(body.ToString()));
    }

    /// <summary>
    /// A DOCX whose document.xml inflates to <paramref name="inflatedBytes"/> (spaces: about a thousand to one): a zip
    /// bomb that a reader trusting the archive would expand into memory or disk. With <paramref name="declaredBytes"/>
    /// the archive lies: its headers claim that size for document.xml instead of the real one.
    /// </summary>
    public static byte[] DocxZipBomb(long inflatedBytes, uint? declaredBytes = null)
    {
        var bytes = DocxZipBombAsDeclared(inflatedBytes);
        return declaredBytes is { } declared ? DeclareSize(bytes, "word/document.xml", declared) : bytes;
    }

    private static byte[] DocxZipBombAsDeclared(long inflatedBytes)
    {
        var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            AddEntry(zip, "[Content_Types].xml", ContentTypes);
            AddEntry(zip, "_rels/.rels", PackageRelationships);
            var entry = zip.CreateEntry("word/document.xml", CompressionLevel.SmallestSize);
            using var stream = entry.Open();
            var start = Encoding.UTF8.GetBytes(DocumentXml(Paragraph("Bomb", null)).Replace("</w:body>", string.Empty, StringComparison.Ordinal).Replace("</w:document>", string.Empty, StringComparison.Ordinal));
            stream.Write(start);
            var spaces = new byte[1 << 20];
            Array.Fill(spaces, (byte)' ');
            for (long written = start.Length; written < inflatedBytes; written += spaces.Length)
            {
                stream.Write(spaces, 0, (int)Math.Min(spaces.Length, inflatedBytes - written));
            }

            stream.Write("</w:body></w:document>"u8);
        }

        return output.ToArray();
    }

    /// <summary>Rewrites the uncompressed size an entry declares, in its local header and the central directory.</summary>
    private static byte[] DeclareSize(byte[] zip, string entryName, uint size)
    {
        var span = zip.AsSpan();
        var name = Encoding.ASCII.GetBytes(entryName);
        for (var at = span.Length - 46; at >= 0; at--)
        {
            // Central directory record: signature, then sizes at 20/24, name length at 28, local header offset at 42.
            if (BinaryPrimitives.ReadUInt32LittleEndian(span[at..]) != 0x02014b50
                || BinaryPrimitives.ReadUInt16LittleEndian(span[(at + 28)..]) != name.Length
                || !span.Slice(at + 46, name.Length).SequenceEqual(name))
            {
                continue;
            }

            BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 24)..], size);
            var local = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(at + 42)..]);
            BinaryPrimitives.WriteUInt32LittleEndian(span[(local + 22)..], size);
            return zip;
        }

        throw new InvalidOperationException($"{entryName} is not in the archive.");
    }

    private static byte[] Package(string documentXml)
    {
        var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            AddEntry(zip, "[Content_Types].xml", ContentTypes);
            AddEntry(zip, "_rels/.rels", PackageRelationships);
            AddEntry(zip, "word/document.xml", documentXml);
        }

        return output.ToArray();
    }

    private static void AddEntry(ZipArchive zip, string name, string content)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        using var stream = entry.Open();
        stream.Write(Encoding.UTF8.GetBytes(content.Trim()));
    }

    private static string DocumentXml(string body) =>
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>" +
        "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>" + body + "</w:body></w:document>";

    private static string Paragraph(string text, string? style)
    {
        var rightToLeft = text.Any(c => c is >= '\u0600' and <= '\u06FF');
        var properties = style is null && !rightToLeft
            ? string.Empty
            : "<w:pPr>" + (style is null ? string.Empty : $"<w:pStyle w:val=\"{style}\"/>") + (rightToLeft ? "<w:bidi/>" : string.Empty) + "</w:pPr>";
        // Split into two runs so readers must join runs, as real Word files need.
        var middle = text.Length / 2;
        return $"<w:p>{properties}{Run(text[..middle])}{Run(text[middle..])}</w:p>";

        static string Run(string part) => part.Length == 0 ? string.Empty : $"<w:r><w:t xml:space=\"preserve\">{SecurityElement.Escape(part)}</w:t></w:r>";
    }
}
