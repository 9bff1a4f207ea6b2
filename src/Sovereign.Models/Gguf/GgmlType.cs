using System.Collections.Frozen;

namespace Sovereign.Models.Gguf;

/// <summary>A tensor's element type (ggml_type). Numbers are fixed by ggml; gaps are types ggml removed.</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
}

/// <summary>Block layout of each <see cref="GgmlType"/> (ggml's type traits) and llama.cpp's file type names. Thread-safe.</summary>
public static class GgmlTypes
{
    // (elements per block, bytes per block), from ggml-common.h's block_* structs.
    private static readonly FrozenDictionary<GgmlType, (int BlockSize, int TypeSize)> Traits = new Dictionary<GgmlType, (int, int)>
    {
        [GgmlType.F32] = (1, 4),
        [GgmlType.F16] = (1, 2),
        [GgmlType.BF16] = (1, 2),
        [GgmlType.F64] = (1, 8),
        [GgmlType.I8] = (1, 1),
        [GgmlType.I16] = (1, 2),
        [GgmlType.I32] = (1, 4),
        [GgmlType.I64] = (1, 8),
        [GgmlType.Q4_0] = (32, 18),
        [GgmlType.Q4_1] = (32, 20),
        [GgmlType.Q5_0] = (32, 22),
        [GgmlType.Q5_1] = (32, 24),
        [GgmlType.Q8_0] = (32, 34),
        [GgmlType.Q8_1] = (32, 36),
        [GgmlType.Q2_K] = (256, 84),
        [GgmlType.Q3_K] = (256, 110),
        [GgmlType.Q4_K] = (256, 144),
        [GgmlType.Q5_K] = (256, 176),
        [GgmlType.Q6_K] = (256, 210),
        [GgmlType.Q8_K] = (256, 292),
        [GgmlType.IQ2_XXS] = (256, 66),
        [GgmlType.IQ2_XS] = (256, 74),
        [GgmlType.IQ2_S] = (256, 82),
        [GgmlType.IQ3_XXS] = (256, 98),
        [GgmlType.IQ3_S] = (256, 110),
        [GgmlType.IQ1_S] = (256, 50),
        [GgmlType.IQ1_M] = (256, 56),
        [GgmlType.IQ4_NL] = (32, 18),
        [GgmlType.IQ4_XS] = (256, 136),
        [GgmlType.TQ1_0] = (256, 54),
        [GgmlType.TQ2_0] = (256, 66),
        [GgmlType.MXFP4] = (32, 17),
    }.ToFrozenDictionary();

    // llama_ftype → the names llama-quantize and model hubs use. Bit 1024 (LLAMA_FTYPE_GUESSED) is masked off first.
    private static readonly FrozenDictionary<int, string> FileTypeNames = new Dictionary<int, string>
    {
        [0] = "F32",
        [1] = "F16",
        [2] = "Q4_0",
        [3] = "Q4_1",
        [7] = "Q8_0",
        [8] = "Q5_0",
        [9] = "Q5_1",
        [10] = "Q2_K",
        [11] = "Q3_K_S",
        [12] = "Q3_K_M",
        [13] = "Q3_K_L",
        [14] = "Q4_K_S",
        [15] = "Q4_K_M",
        [16] = "Q5_K_S",
        [17] = "Q5_K_M",
        [18] = "Q6_K",
        [19] = "IQ2_XXS",
        [20] = "IQ2_XS",
        [21] = "Q2_K_S",
        [22] = "IQ3_XS",
        [23] = "IQ3_XXS",
        [24] = "IQ1_S",
        [25] = "IQ4_NL",
        [26] = "IQ3_S",
        [27] = "IQ3_M",
        [28] = "IQ2_S",
        [29] = "IQ2_M",
        [30] = "IQ4_XS",
        [31] = "IQ1_M",
        [32] = "BF16",
        [36] = "TQ1_0",
        [37] = "TQ2_0",
        [38] = "MXFP4_MOE",
    }.ToFrozenDictionary();

    /// <summary>The llama_ftype values for files whose tensors are all (mostly) one type, as written in general.file_type.</summary>
    public static int FileTypeFor(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q4_1 => 3,
        GgmlType.Q8_0 => 7,
        GgmlType.Q5_0 => 8,
        GgmlType.Q5_1 => 9,
        GgmlType.BF16 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "No single llama.cpp file type for this tensor type."),
    };

    public static bool IsKnown(GgmlType type) => Traits.ContainsKey(type);

    /// <summary>Elements per block (1 for plain types, 32 or 256 for quantized ones).</summary>
    public static int BlockSize(GgmlType type) => Get(type).BlockSize;

    /// <summary>Bytes per block.</summary>
    public static int TypeSize(GgmlType type) => Get(type).TypeSize;

    /// <summary>Bytes of a tensor of <paramref name="elements"/> elements; throws when they are not whole blocks.</summary>
    public static long ByteSize(GgmlType type, long elements)
    {
        var (block, size) = Get(type);
        if (elements < 0 || elements % block != 0)
            throw new ArgumentException($"{elements} elements are not a whole number of {type} blocks of {block}.", nameof(elements));
        return checked(elements / block * size);
    }

    /// <summary>llama.cpp's name for a general.file_type value (e.g. 15 → Q4_K_M), or null when unknown.</summary>
    public static string? FileTypeName(long fileType) =>
        fileType is >= 0 and <= int.MaxValue && FileTypeNames.TryGetValue((int)fileType & ~1024, out var name) ? name : null;

    private static (int BlockSize, int TypeSize) Get(GgmlType type) =>
        Traits.TryGetValue(type, out var t) ? t : throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown ggml tensor type.");
}
