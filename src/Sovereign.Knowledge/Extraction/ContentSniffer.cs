using System.Text;
using System.Text.RegularExpressions;
using Sovereign.Core.Errors;

namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// Decides a file's format from its bytes alone. A name can lie ("report.pdf" that is a PNG); the bytes cannot, so
/// nothing here ever sees the file name. Binary formats are recognised by their signatures; text is decoded strictly
/// and then told apart (HTML, CSV, Markdown, plain text) by its shape.
/// </summary>
internal static partial class ContentSniffer
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Recognises a binary format from the first bytes; null when the file is not one of them.</summary>
    public static DocumentFormat? SniffBinary(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith(PngSignature))
        {
            return DocumentFormat.Png;
        }

        if (head.Length >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF)
        {
            return DocumentFormat.Jpeg;
        }

        if (head.Length >= 4 && ((head[0] == 'I' && head[1] == 'I' && head[2] == 42 && head[3] == 0) || (head[0] == 'M' && head[1] == 'M' && head[2] == 0 && head[3] == 42)))
        {
            return DocumentFormat.Tiff;
        }

        // PDF readers accept the header anywhere in the first kilobyte; so do we.
        if (head[..Math.Min(head.Length, 1024)].IndexOf("%PDF-"u8) >= 0)
        {
            return DocumentFormat.Pdf;
        }

        if (head.StartsWith("PK\u0003\u0004"u8))
        {
            // Which zip it is (DOCX or something else) is decided by its entries, by the DOCX reader.
            return DocumentFormat.Docx;
        }

        return null;
    }

    /// <summary>
    /// Decodes text (UTF-8, or UTF-16 with a byte-order mark) strictly; a file that is not text is refused.
    /// </summary>
    public static string DecodeText(byte[] bytes)
    {
        try
        {
            if (bytes.AsSpan().StartsWith(new byte[] { 0xFF, 0xFE }))
            {
                return new UnicodeEncoding(false, false, true).GetString(bytes, 2, bytes.Length - 2);
            }

            if (bytes.AsSpan().StartsWith(new byte[] { 0xFE, 0xFF }))
            {
                return new UnicodeEncoding(true, false, true).GetString(bytes, 2, bytes.Length - 2);
            }

            var offset = bytes.AsSpan().StartsWith(new byte[] { 0xEF, 0xBB, 0xBF }) ? 3 : 0;
            if (bytes.AsSpan(offset).IndexOf((byte)0) >= 0)
            {
                throw NotSupported();
            }

            return new UTF8Encoding(false, true).GetString(bytes, offset, bytes.Length - offset);
        }
        catch (DecoderFallbackException)
        {
            throw NotSupported();
        }
    }

    /// <summary>Tells HTML, CSV, Markdown and plain text apart by their shape.</summary>
    public static DocumentFormat SniffText(string text)
    {
        var head = text.Length > 4096 ? text[..4096] : text;
        var trimmed = head.TrimStart();
        if (trimmed.StartsWith("<!doctype html", StringComparison.OrdinalIgnoreCase)
            || trimmed.StartsWith("<html", StringComparison.OrdinalIgnoreCase)
            || HtmlTag().IsMatch(head))
        {
            return DocumentFormat.Html;
        }

        if (CsvParser.LooksLikeCsv(head))
        {
            return DocumentFormat.Csv;
        }

        return MarkdownMarker().IsMatch(head) ? DocumentFormat.Markdown : DocumentFormat.PlainText;
    }

    public static SovereignException NotSupported() => new(
        ErrorKind.UnsupportedMediaType,
        "The file is not a supported document: expected PDF, DOCX, HTML, Markdown, plain text (UTF-8), CSV, or a PNG, JPEG or TIFF image. The type is read from the file's content, not its name.",
        "file",
        "unsupported_document");

    [GeneratedRegex(@"<(html|head|body)[\s>]", RegexOptions.IgnoreCase)]
    private static partial Regex HtmlTag();

    [GeneratedRegex(@"^( {0,3}#{1,6}\s+\S| {0,3}(```|~~~)|\s*\|.+\|\s*$| {0,3}[-*+]\s+\S| {0,3}\d{1,3}[.)]\s+\S)", RegexOptions.Multiline)]
    private static partial Regex MarkdownMarker();
}
