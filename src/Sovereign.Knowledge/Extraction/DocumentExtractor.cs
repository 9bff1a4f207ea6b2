using Sovereign.Core.Errors;

namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// The one entry point for extraction: checks the file against the limits, decides its format from its bytes, and
/// hands it to the reader for that format under the time limit. Stateless and thread-safe; one instance serves all.
/// </summary>
/// <remarks>
/// Steps, marked in <see cref="ExtractAsync"/>:
/// 1. refuse a missing, empty or oversized file before reading it;
/// 2. read the first bytes and decide the format (the name is never consulted);
/// 3. extract under a deadline of <see cref="ExtractionLimits.MaxTime"/> (external processes are killed with it);
/// 4. normalise every block's text (NFC, Arabic presentation forms to letters, zero-width non-joiners kept).
/// </remarks>
public sealed class DocumentExtractor : IDocumentExtractor
{
    private const int SniffBytes = 4096;

    public async Task<ExtractedDocument> ExtractAsync(string path, ExtractionLimits limits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(limits);

        // :: Step 1: limits that need only the file's length.
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw SovereignException.NotFound("The document's stored file was not found.", "file", "document_file_missing");
        }

        if (file.Length == 0)
        {
            throw SovereignException.Invalid("The file is empty: there is nothing to extract.", "file", "empty_document");
        }

        if (file.Length > limits.MaxBytes)
        {
            throw new SovereignException(
                ErrorKind.PayloadTooLarge,
                $"The file is {file.Length:N0} bytes, over the limit of {limits.MaxBytes:N0} bytes.",
                "file",
                "document_too_large");
        }

        // :: Step 2: the format, from the bytes.
        var head = new byte[(int)Math.Min(SniffBytes, file.Length)];
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous))
        {
            await stream.ReadExactlyAsync(head, cancellationToken).ConfigureAwait(false);
        }

        var binary = ContentSniffer.SniffBinary(head);

        // :: Step 3: extract under the deadline.
        var document = await ExtractionDeadline.RunAsync(
            limits,
            token => binary is null ? ExtractTextAsync(path, token) : ExtractBinaryAsync(binary.Value, path, limits, token),
            cancellationToken).ConfigureAwait(false);

        // :: Step 4: one text form for everything downstream.
        var blocks = new List<TextBlock>(document.Blocks.Count);
        foreach (var block in document.Blocks)
        {
            var text = TextNormalizer.Normalize(block.Text);
            if (!string.IsNullOrWhiteSpace(text))
            {
                blocks.Add(block with { Text = text.Trim() });
            }
        }

        return document with { Blocks = blocks };
    }

    private static async Task<ExtractedDocument> ExtractTextAsync(string path, CancellationToken cancellationToken)
    {
        var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        var text = TextNormalizer.Normalize(ContentSniffer.DecodeText(bytes));
        var format = ContentSniffer.SniffText(text);
        var blocks = format switch
        {
            DocumentFormat.Html => HtmlReader.Read(text),
            DocumentFormat.Csv => CsvParser.Read(text),
            DocumentFormat.Markdown => MarkdownReader.Read(text),
            _ => PlainTextReader.Read(text),
        };
        return new ExtractedDocument(MediaTypes.Of(format), blocks, 1);
    }

    private static Task<ExtractedDocument> ExtractBinaryAsync(DocumentFormat format, string path, ExtractionLimits limits, CancellationToken cancellationToken) => format switch
    {
        DocumentFormat.Pdf => PdfReader.ReadAsync(path, limits, cancellationToken),
        // The zip reader is synchronous; it checks the deadline as it inflates.
        DocumentFormat.Docx => Task.Run(() => DocxReader.Read(path, limits, cancellationToken), cancellationToken),
        DocumentFormat.Png or DocumentFormat.Jpeg or DocumentFormat.Tiff => ImageReader.ReadAsync(path, format, limits, cancellationToken),
        _ => throw ContentSniffer.NotSupported(),
    };
}
