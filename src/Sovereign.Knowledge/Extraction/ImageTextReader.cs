using Sovereign.Core.Errors;

namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// Reads the text in one image (PNG, JPEG or TIFF, decided from the bytes) through OCR, under the same limits as
/// documents: size, pixels read from the header before decoding, and time. Used for images sent in chat, where the
/// model gets the image's text. Stateless and thread-safe.
/// </summary>
public sealed class ImageTextReader
{
    /// <summary>
    /// Refuses, from its bytes and header alone, an image that is empty (400), over the byte or pixel limits (413) or not
    /// a PNG, JPEG (or, with <paramref name="allowTiff"/>, TIFF) file (415); nothing is decoded. Used before OCR, and
    /// before an image goes to a vision model, whose decoder must never meet a decompression bomb.
    /// </summary>
    public static void Check(ReadOnlySpan<byte> image, ExtractionLimits limits, bool allowTiff)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (image.IsEmpty)
        {
            throw SovereignException.Invalid("The image is empty.", "image", "empty_image");
        }

        if (image.Length > limits.MaxBytes)
        {
            throw new SovereignException(ErrorKind.PayloadTooLarge, $"The image is {image.Length:N0} bytes, over the limit of {limits.MaxBytes:N0} bytes.", "image", "image_too_large");
        }

        var format = ContentSniffer.SniffBinary(image);
        if (format is not (DocumentFormat.Png or DocumentFormat.Jpeg) && !(allowTiff && format is DocumentFormat.Tiff))
        {
            throw new SovereignException(ErrorKind.UnsupportedMediaType,
                allowTiff ? "The image is not a PNG, JPEG or TIFF (decided from its bytes); only those can be read." : "The image is not a PNG or JPEG (decided from its bytes); only those can be given to this model.",
                "image", "unsupported_image");
        }

        ImageHeader.ReadAndCheck(image, format.Value, limits);
    }

    /// <returns>The text in logical order (right-to-left scripts included), pages separated by blank lines; empty when none was found.</returns>
    public async Task<string> ReadAsync(ReadOnlyMemory<byte> image, ExtractionLimits limits, CancellationToken cancellationToken = default)
    {
        Check(image.Span, limits, allowTiff: true);
        var path = Path.Combine(Path.GetTempPath(), $"sov-image-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(path, image, cancellationToken).ConfigureAwait(false);
        try
        {
            var pages = await ExtractionDeadline.RunAsync(limits, token => TesseractOcr.ReadPagesAsync(path, limits.OcrLanguages, token), cancellationToken).ConfigureAwait(false);
            var paragraphs = pages.SelectMany(p => TesseractOcr.Blocks(p, null)).Select(b => TextNormalizer.Normalize(b.Text));
            return string.Join("\n\n", paragraphs);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
