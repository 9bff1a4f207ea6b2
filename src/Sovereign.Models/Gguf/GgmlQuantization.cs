using System.Buffers.Binary;

namespace Sovereign.Models.Gguf;

/// <summary>Conversions from float32 into ggml's storage formats, bit-compatible with ggml's reference code. Stateless; thread-safe.</summary>
public static class GgmlQuantization
{
    public const int Q8_0BlockSize = 32;
    public const int Q8_0BlockBytes = 34;

    /// <summary>Bytes that <paramref name="values"/> floats take in <paramref name="type"/> (F32, F16, BF16 or Q8_0).</summary>
    public static int EncodedSize(GgmlType type, int values) => (int)GgmlTypes.ByteSize(type, values);

    /// <summary>Encodes floats as F32, F16, BF16 or Q8_0 into <paramref name="destination"/>, which must be exactly <see cref="EncodedSize"/> bytes.</summary>
    public static void Encode(GgmlType type, ReadOnlySpan<float> source, Span<byte> destination)
    {
        if (destination.Length != EncodedSize(type, source.Length))
            throw new ArgumentException($"{source.Length} values take {EncodedSize(type, source.Length)} bytes as {type}, not {destination.Length}.", nameof(destination));
        switch (type)
        {
            case GgmlType.F32:
                for (var i = 0; i < source.Length; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(destination[(i * 4)..], source[i]);
                break;
            case GgmlType.F16:
                for (var i = 0; i < source.Length; i++)
                    BinaryPrimitives.WriteHalfLittleEndian(destination[(i * 2)..], (Half)source[i]);
                break;
            case GgmlType.BF16:
                for (var i = 0; i < source.Length; i++)
                    BinaryPrimitives.WriteUInt16LittleEndian(destination[(i * 2)..], ToBFloat16(source[i]));
                break;
            case GgmlType.Q8_0:
                QuantizeQ8_0(source, destination);
                break;
            default:
                throw new NotSupportedException($"Encoding floats as {type} is not implemented.");
        }
    }

    /// <summary>
    /// ggml's quantize_row_q8_0_ref: each block of 32 values becomes an fp16 scale d = max|x|/127 followed by
    /// 32 int8 values round(x/d).
    /// </summary>
    public static void QuantizeQ8_0(ReadOnlySpan<float> source, Span<byte> destination)
    {
        if (source.Length % Q8_0BlockSize != 0)
            throw new ArgumentException($"Q8_0 needs a multiple of {Q8_0BlockSize} values, not {source.Length}.", nameof(source));
        var blocks = source.Length / Q8_0BlockSize;
        if (destination.Length < blocks * Q8_0BlockBytes) throw new ArgumentException("Destination is too small.", nameof(destination));
        for (var b = 0; b < blocks; b++)
        {
            var x = source.Slice(b * Q8_0BlockSize, Q8_0BlockSize);
            var y = destination.Slice(b * Q8_0BlockBytes, Q8_0BlockBytes);
            var amax = 0f;
            foreach (var v in x) amax = MathF.Max(amax, MathF.Abs(v));
            var d = amax / 127f;
            var id = d != 0 ? 1f / d : 0f;
            BinaryPrimitives.WriteHalfLittleEndian(y, (Half)d);
            for (var j = 0; j < Q8_0BlockSize; j++)
                y[2 + j] = (byte)(sbyte)Math.Clamp(MathF.Round(x[j] * id, MidpointRounding.AwayFromZero), -127f, 127f);
        }
    }

    /// <summary>The inverse of <see cref="QuantizeQ8_0"/> (up to rounding), for checks.</summary>
    public static void DequantizeQ8_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var blocks = source.Length / Q8_0BlockBytes;
        for (var b = 0; b < blocks; b++)
        {
            var y = source.Slice(b * Q8_0BlockBytes, Q8_0BlockBytes);
            var d = (float)BinaryPrimitives.ReadHalfLittleEndian(y);
            for (var j = 0; j < Q8_0BlockSize; j++)
                destination[b * Q8_0BlockSize + j] = (sbyte)y[2 + j] * d;
        }
    }

    // Round-to-nearest-even on the dropped 16 bits, NaN kept quiet: as ggml_compute_fp32_to_bf16.
    private static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) return (ushort)((bits >> 16) | 64);
        return (ushort)((bits + (0x7fff + ((bits >> 16) & 1))) >> 16);
    }
}
