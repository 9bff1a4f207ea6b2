using System.Buffers.Binary;
using Sovereign.Core.Errors;

namespace Sovereign.Knowledge.Extraction;

/// <summary>
/// Image dimensions read from the header alone, before anything decodes a pixel: a 20,000 × 20,000 picture is a few
/// hundred kilobytes on disk and 1.6 GB once decoded, so the pixel limit must be applied here.
/// </summary>
/// <param name="Width">Of the largest page.</param>
/// <param name="Height">Of the largest page.</param>
/// <param name="Pages">Frames in a multi-page TIFF; 1 otherwise.</param>
internal sealed record ImageHeader(long Width, long Height, int Pages)
{
    public long Pixels => Width * Height;

    /// <summary>Reads the header and refuses the image when it is malformed or over the limits.</summary>
    public static ImageHeader ReadAndCheck(ReadOnlySpan<byte> bytes, DocumentFormat format, ExtractionLimits limits)
    {
        var header = format switch
        {
            DocumentFormat.Png => Png(bytes),
            DocumentFormat.Jpeg => Jpeg(bytes),
            DocumentFormat.Tiff => Tiff(bytes, limits.MaxPages),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };

        if (header.Width <= 0 || header.Height <= 0)
        {
            throw Corrupt("its header gives no size");
        }

        if (header.Pixels > limits.MaxPixels)
        {
            throw new SovereignException(
                ErrorKind.PayloadTooLarge,
                $"The image is {header.Width:N0} × {header.Height:N0} pixels ({header.Pixels:N0}), over the limit of {limits.MaxPixels:N0} pixels; it was not decoded.",
                "file",
                "image_too_large");
        }

        return header;
    }

    private static ImageHeader Png(ReadOnlySpan<byte> bytes)
    {
        // Signature (8), IHDR length (4) and type (4), then width and height.
        if (bytes.Length < 24 || !bytes.Slice(12, 4).SequenceEqual("IHDR"u8))
        {
            throw Corrupt("its PNG header is missing");
        }

        return new ImageHeader(BinaryPrimitives.ReadUInt32BigEndian(bytes[16..]), BinaryPrimitives.ReadUInt32BigEndian(bytes[20..]), 1);
    }

    private static ImageHeader Jpeg(ReadOnlySpan<byte> bytes)
    {
        // Walk the markers to the first start-of-frame; its height and width are the image's.
        var position = 2;
        while (position + 4 <= bytes.Length)
        {
            if (bytes[position] != 0xFF)
            {
                throw Corrupt("its JPEG markers are broken");
            }

            var marker = bytes[position + 1];
            if (marker == 0xFF)
            {
                position++;
                continue;
            }

            if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7))
            {
                position += 2;
                continue;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(bytes[(position + 2)..]);
            if (length < 2)
            {
                throw Corrupt("its JPEG markers are broken");
            }

            var isStartOfFrame = marker is >= 0xC0 and <= 0xCF && marker is not (0xC4 or 0xC8 or 0xCC);
            if (isStartOfFrame)
            {
                if (position + 9 > bytes.Length)
                {
                    break;
                }

                var height = BinaryPrimitives.ReadUInt16BigEndian(bytes[(position + 5)..]);
                var width = BinaryPrimitives.ReadUInt16BigEndian(bytes[(position + 7)..]);
                return new ImageHeader(width, height, 1);
            }

            if (marker is 0xDA or 0xD9)
            {
                break;
            }

            position += 2 + length;
        }

        throw Corrupt("no JPEG frame header was found");
    }

    private static ImageHeader Tiff(ReadOnlySpan<byte> bytes, int maxPages)
    {
        if (bytes.Length < 8)
        {
            throw Corrupt("its TIFF header is cut short");
        }

        var little = bytes[0] == 'I';
        var offset = (long)U32(bytes, 4, little);
        long width = 0, height = 0;
        var pages = 0;
        var seen = new HashSet<long>();
        while (offset != 0)
        {
            if (!seen.Add(offset) || offset + 2 > bytes.Length)
            {
                throw Corrupt("its TIFF directories are broken");
            }

            if (++pages > maxPages)
            {
                throw new SovereignException(ErrorKind.PayloadTooLarge, $"The TIFF has more than {maxPages:N0} pages, the limit.", "file", "too_many_pages");
            }

            var count = U16(bytes, (int)offset, little);
            long pageWidth = 0, pageHeight = 0;
            for (var i = 0; i < count; i++)
            {
                var entry = (int)offset + 2 + (i * 12);
                if (entry + 12 > bytes.Length)
                {
                    throw Corrupt("its TIFF directories are broken");
                }

                var tag = U16(bytes, entry, little);
                var type = U16(bytes, entry + 2, little);
                var value = type == 3 ? U16(bytes, entry + 8, little) : U32(bytes, entry + 8, little);
                if (tag == 256)
                {
                    pageWidth = value;
                }
                else if (tag == 257)
                {
                    pageHeight = value;
                }
            }

            if (pageWidth * pageHeight > width * height)
            {
                (width, height) = (pageWidth, pageHeight);
            }

            var next = (int)(offset + 2 + (count * 12));
            offset = next + 4 <= bytes.Length ? U32(bytes, next, little) : 0;
        }

        return new ImageHeader(width, height, Math.Max(pages, 1));
    }

    private static uint U16(ReadOnlySpan<byte> bytes, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[at..]) : BinaryPrimitives.ReadUInt16BigEndian(bytes[at..]);

    private static uint U32(ReadOnlySpan<byte> bytes, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]) : BinaryPrimitives.ReadUInt32BigEndian(bytes[at..]);

    private static SovereignException Corrupt(string why) => SovereignException.Invalid($"The image is damaged: {why}.", "file", "corrupt_image");
}
