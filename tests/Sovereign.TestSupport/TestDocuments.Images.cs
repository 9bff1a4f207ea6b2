using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;
using SkiaSharp.HarfBuzz;

namespace Sovereign.TestSupport;

public static partial class TestDocuments
{
    private const string LatinFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    private const string ArabicScriptFont = "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf";

    /// <summary>English (Latin) text, black on white, one image line per text line, as PNG.</summary>
    public static byte[] PngOfText(string text, int fontSize = 48) => Encode(RenderText(text, fontSize, rightToLeft: false), SKEncodedImageFormat.Png);

    public static byte[] JpegOfText(string text, int fontSize = 48) => Encode(RenderText(text, fontSize, rightToLeft: false), SKEncodedImageFormat.Jpeg);

    /// <summary>
    /// Persian (or Arabic) text shaped with HarfBuzz in Noto Naskh Arabic, right-aligned, as PNG. Pass the text in
    /// logical order, zero-width non-joiners included; shaping draws it right to left as a reader would see it.
    /// </summary>
    public static byte[] PngOfPersianText(string text, int fontSize = 64) => Encode(RenderText(text, fontSize, rightToLeft: true), SKEncodedImageFormat.Png);

    /// <summary>A baseline TIFF (8-bit grey, uncompressed), one image file directory per page of text.</summary>
    public static byte[] TiffOfText(params string[] pages)
    {
        var images = pages.Select(p => RenderText(p, 48, rightToLeft: false)).ToList();
        try
        {
            return TiffWriter.Write(images.Select(ToGray).ToList());
        }
        finally
        {
            images.ForEach(i => i.Dispose());
        }
    }

    /// <summary>
    /// A valid 1-bit PNG of the given size (all white; tiny on disk, huge once decoded): the "20,000 × 20,000 image"
    /// that must be refused from its header.
    /// </summary>
    public static byte[] HugePng(int width, int height)
    {
        var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 1; // bit depth
        header[9] = 0; // greyscale
        WriteChunk(output, "IHDR", header);
        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[1 + ((width + 7) / 8)];
            Array.Fill(row, (byte)0xFF);
            row[0] = 0; // filter: none
            for (var y = 0; y < height; y++)
            {
                zlib.Write(row);
            }
        }

        WriteChunk(output, "IDAT", compressed.ToArray());
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    /// <summary>Width and height from a PNG's header.</summary>
    public static (int Width, int Height) PngSize(byte[] png) =>
        (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));

    private static SKBitmap RenderText(string text, int fontSize, bool rightToLeft)
    {
        var fontPath = rightToLeft ? ArabicScriptFont : LatinFont;
        if (!File.Exists(fontPath))
        {
            throw new FileNotFoundException($"Font {fontPath} is missing: install fonts-dejavu-core and fonts-noto-core (scripts/apt-packages.txt).", fontPath);
        }

        using var typeface = SKTypeface.FromFile(fontPath);
        using var font = new SKFont(typeface, fontSize) { Edging = SKFontEdging.Antialias };
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var shaper = new SKShaper(typeface);
        var lines = text.Split('\n');
        var margin = fontSize;
        var lineHeight = (int)Math.Ceiling(fontSize * 1.6);
        var widest = lines.Max(line => rightToLeft ? shaper.Shape(line, font).Width : font.MeasureText(line));
        var width = (int)Math.Ceiling(widest) + (2 * margin);
        var height = (lines.Length * lineHeight) + (2 * margin);

        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        for (var i = 0; i < lines.Length; i++)
        {
            var baseline = margin + (i * lineHeight) + fontSize;
            if (rightToLeft)
            {
                canvas.DrawShapedText(shaper, lines[i], width - margin, baseline, SKTextAlign.Right, font, paint);
            }
            else
            {
                canvas.DrawText(lines[i], margin, baseline, SKTextAlign.Left, font, paint);
            }
        }

        canvas.Flush();
        return bitmap;
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using (bitmap)
        {
            using var data = bitmap.Encode(format, 95);
            return data.ToArray();
        }
    }

    private static TiffWriter.GrayImage ToGray(SKBitmap bitmap)
    {
        var pixels = new byte[bitmap.Width * bitmap.Height];
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var color = bitmap.GetPixel(x, y);
                pixels[(y * bitmap.Width) + x] = (byte)((color.Red + color.Green + color.Blue) / 3);
            }
        }

        return new TiffWriter.GrayImage(bitmap.Width, bitmap.Height, pixels);
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        output.Write(number);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(number, Crc32.Compute(typeBytes, data));
        output.Write(number);
    }

    private static class Crc32
    {
        private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
        {
            var c = (uint)n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            return c;
        }).ToArray();

        public static uint Compute(byte[] type, byte[] data)
        {
            var crc = 0xFFFFFFFFu;
            foreach (var b in type.Concat(data))
            {
                crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            }

            return crc ^ 0xFFFFFFFFu;
        }
    }
}
