namespace Sovereign.Models.Gguf;

/// <summary>The type tag of a GGUF metadata value, as stored in the file (gguf_type).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}

internal static class GgufValueTypes
{
    public static bool IsKnown(GgufValueType type) => (uint)type <= (uint)GgufValueType.Float64;

    /// <summary>Bytes of one fixed-size value; for strings and arrays the smallest they can take (their length prefix).</summary>
    public static int MinSize(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 or GgufValueType.String => 8,
        GgufValueType.Array => 12,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown GGUF value type."),
    };

    public static Type ClrType(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => typeof(byte),
        GgufValueType.Int8 => typeof(sbyte),
        GgufValueType.UInt16 => typeof(ushort),
        GgufValueType.Int16 => typeof(short),
        GgufValueType.UInt32 => typeof(uint),
        GgufValueType.Int32 => typeof(int),
        GgufValueType.Float32 => typeof(float),
        GgufValueType.Bool => typeof(bool),
        GgufValueType.String => typeof(string),
        GgufValueType.Array => typeof(GgufArray),
        GgufValueType.UInt64 => typeof(ulong),
        GgufValueType.Int64 => typeof(long),
        GgufValueType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown GGUF value type."),
    };

    public static string Name(GgufValueType type) => IsKnown(type) ? type.ToString().ToLowerInvariant() : $"unknown type {(uint)type}";
}
