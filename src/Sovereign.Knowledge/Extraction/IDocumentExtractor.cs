namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// Turns a stored original (PDF, DOCX, HTML, Markdown, text, CSV, or an image through OCR) into text blocks in reading
/// order. The format is decided from the bytes, never the file name. A file that is corrupt, hostile or over a limit
/// throws a <see cref="Core.Errors.SovereignException"/> whose message says what is wrong (415 for a format it does
/// not handle, 413 for a limit, 400 for a corrupt file); it never runs past <see cref="ExtractionLimits.MaxTime"/>.
/// </summary>
public interface IDocumentExtractor
{
    Task<ExtractedDocument> ExtractAsync(string path, ExtractionLimits limits, CancellationToken cancellationToken = default);
}

/// <summary>The limits one extraction runs under; options (Sovereign:Knowledge:Limits) supply them.</summary>
public sealed record ExtractionLimits
{
    public long MaxBytes { get; init; } = 64L * 1024 * 1024;
    public int MaxPages { get; init; } = 2_000;
    /// <summary>Width × height of any one image (a page to OCR or an uploaded picture).</summary>
    public long MaxPixels { get; init; } = 50_000_000;
    /// <summary>The total a container format (DOCX) may inflate to.</summary>
    public long MaxUncompressedBytes { get; init; } = 256L * 1024 * 1024;
    public TimeSpan MaxTime { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Tesseract language packs to use for OCR, e.g. "eng+fas+ara".</summary>
    public string OcrLanguages { get; init; } = "eng+fas+ara";
}

/// <summary>What a block of text is, so the chunker can follow the document's structure.</summary>
public enum BlockKind
{
    Heading,
    Paragraph,
    ListItem,
    TableRow,
    Code,
}

/// <param name="Kind">What the block is.</param>
/// <param name="Text">The text in logical order (right-to-left scripts included), zero-width non-joiners kept.</param>
/// <param name="Page">1-based page for paged formats (PDF, multi-page TIFF); null otherwise.</param>
/// <param name="HeadingLevel">1–6 for headings; 0 for everything else.</param>
public sealed record TextBlock(BlockKind Kind, string Text, int? Page = null, int HeadingLevel = 0);

/// <param name="MediaType">The detected type, e.g. application/pdf, image/png.</param>
/// <param name="Blocks">The text in reading order.</param>
/// <param name="PageCount">Pages for paged formats, else 1.</param>
/// <param name="OcrPages">How many pages (or images) were read through OCR.</param>
public sealed record ExtractedDocument(string MediaType, IReadOnlyList<TextBlock> Blocks, int PageCount, int OcrPages = 0);
