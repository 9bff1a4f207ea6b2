using System.Buffers.Binary;

namespace Sovereign.TestSupport;

/// <summary>Baseline little-endian TIFF: 8-bit grey, uncompressed, one strip per page, 150 dpi.</summary>
internal static class TiffWriter
{
    public sealed record GrayImage(int Width, int Height, byte[] Pixels);

    public static byte[] Write(IReadOnlyList<GrayImage> pages)
    {
        var output = new MemoryStream();
        var writer = new BinaryWriter(output);
        writer.Write("II"u8);
        writer.Write((ushort)42);
        var nextIfdPointer = output.Position;
        writer.Write(0u);

        foreach (var page in pages)
        {
            // Pixels, then the resolution rational, then the directory that points at both.
            var stripOffset = (uint)output.Position;
            writer.Write(page.Pixels);
            var resolutionOffset = (uint)output.Position;
            writer.Write(150u);
            writer.Write(1u);
            Align(writer);

            var ifdOffset = (uint)output.Position;
            Patch(output, nextIfdPointer, ifdOffset);
            (ushort Tag, ushort Type, uint Count, uint Value)[] entries =
            [
                (256, 4, 1, (uint)page.Width),
                (257, 4, 1, (uint)page.Height),
                (258, 3, 1, 8),
                (259, 3, 1, 1),
                (262, 3, 1, 1),
                (273, 4, 1, stripOffset),
                (277, 3, 1, 1),
                (278, 4, 1, (uint)page.Height),
                (279, 4, 1, (uint)page.Pixels.Length),
                (282, 5, 1, resolutionOffset),
                (283, 5, 1, resolutionOffset),
                (296, 3, 1, 2),
            ];
            writer.Write((ushort)entries.Length);
            foreach (var (tag, type, count, value) in entries)
            {
                writer.Write(tag);
                writer.Write(type);
                writer.Write(count);
                if (type == 3)
                {
                    writer.Write((ushort)value);
                    writer.Write((ushort)0);
                }
                else
                {
                    writer.Write(value);
                }
            }

            nextIfdPointer = output.Position;
            writer.Write(0u);
        }

        writer.Flush();
        return output.ToArray();
    }

    private static void Align(BinaryWriter writer)
    {
        if (writer.BaseStream.Position % 2 != 0)
        {
            writer.Write((byte)0);
        }
    }

    private static void Patch(MemoryStream output, long position, uint value)
    {
        var buffer = output.GetBuffer();
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan((int)position), value);
    }
}
