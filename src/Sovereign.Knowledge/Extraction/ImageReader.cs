namespace Sovereign.Knowledge.Extraction;

/// <summary>PNG, JPEG and TIFF documents: header checked against the limits, then every page read through OCR.</summary>
internal static class ImageReader
{
    public static async Task<ExtractedDocument> ReadAsync(string path, DocumentFormat format, ExtractionLimits limits, CancellationToken cancellationToken)
    {
        var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        var header = ImageHeader.ReadAndCheck(bytes, format, limits);
        var pages = await TesseractOcr.ReadPagesAsync(path, limits.OcrLanguages, cancellationToken).ConfigureAwait(false);
        var paged = header.Pages > 1;
        var blocks = pages.SelectMany((text, i) => TesseractOcr.Blocks(text, paged ? i + 1 : null)).ToList();
        return new ExtractedDocument(MediaTypes.Of(format), blocks, header.Pages, OcrPages: header.Pages);
    }
}
