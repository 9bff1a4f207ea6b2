using System.Collections;
using System.Globalization;

namespace Sovereign.Models.Gguf;

/// <summary>
/// One GGUF metadata value: a scalar, a string or an array. <see cref="Value"/> holds the CLR value of the
/// matching type (byte, sbyte, ushort, short, uint, int, float, bool, string, ulong, long, double or
/// <see cref="GgufArray"/>). Immutable; safe to share between threads.
/// </summary>
public sealed class GgufValue : IEquatable<GgufValue>
{
    private GgufValue(GgufValueType type, object value)
    {
        Type = type;
        Value = value;
    }

    public GgufValueType Type { get; }

    public object Value { get; }

    public static GgufValue UInt8(byte value) => new(GgufValueType.UInt8, value);
    public static GgufValue Int8(sbyte value) => new(GgufValueType.Int8, value);
    public static GgufValue UInt16(ushort value) => new(GgufValueType.UInt16, value);
    public static GgufValue Int16(short value) => new(GgufValueType.Int16, value);
    public static GgufValue UInt32(uint value) => new(GgufValueType.UInt32, value);
    public static GgufValue Int32(int value) => new(GgufValueType.Int32, value);
    public static GgufValue Float32(float value) => new(GgufValueType.Float32, value);
    public static GgufValue Bool(bool value) => new(GgufValueType.Bool, value);
    public static GgufValue UInt64(ulong value) => new(GgufValueType.UInt64, value);
    public static GgufValue Int64(long value) => new(GgufValueType.Int64, value);
    public static GgufValue Float64(double value) => new(GgufValueType.Float64, value);

    public static GgufValue String(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(GgufValueType.String, value);
    }

    public static GgufValue Array(GgufArray value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(GgufValueType.Array, value);
    }

    /// <summary>The string, or null when this is not a string.</summary>
    public string? AsString() => Value as string;

    /// <summary>The array, or null when this is not an array.</summary>
    public GgufArray? AsArray() => Value as GgufArray;

    /// <summary>The bool, or null when this is not a bool.</summary>
    public bool? AsBool() => Value is bool b ? b : null;

    /// <summary>Any integer type whose value fits in a long (writers disagree on u32/i32/u64 for counts and ids).</summary>
    public bool TryGetInt64(out long value)
    {
        switch (Value)
        {
            case byte v: value = v; return true;
            case sbyte v: value = v; return true;
            case ushort v: value = v; return true;
            case short v: value = v; return true;
            case uint v: value = v; return true;
            case int v: value = v; return true;
            case long v: value = v; return true;
            case ulong v when v <= long.MaxValue: value = (long)v; return true;
            default: value = 0; return false;
        }
    }

    /// <summary>Any numeric type as a double.</summary>
    public bool TryGetDouble(out double value)
    {
        switch (Value)
        {
            case float f: value = f; return true;
            case double d: value = d; return true;
            case ulong u: value = u; return true;
            default:
                var ok = TryGetInt64(out var l);
                value = l;
                return ok;
        }
    }

    public bool Equals(GgufValue? other) =>
        other is not null && Type == other.Type && (Value is GgufArray a ? a.Equals(other.Value) : Value.Equals(other.Value));

    public override bool Equals(object? obj) => Equals(obj as GgufValue);

    public override int GetHashCode() => HashCode.Combine(Type, Value);

    public override string ToString() => Value switch
    {
        string s => s.Length <= 80 ? $"\"{s}\"" : $"\"{s[..77]}...\"",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => Value.ToString() ?? "",
    };
}

/// <summary>
/// A GGUF array: every element has the same <see cref="ElementType"/>; arrays of arrays hold
/// <see cref="GgufArray"/> elements, each with its own element type. Treat as immutable: the reader hands out
/// the arrays it built and nobody writes to them, so it is safe to share between threads.
/// </summary>
public sealed class GgufArray : IEquatable<GgufArray>
{
    private readonly System.Array _items;

    /// <summary>Wraps <paramref name="items"/> (not copied), whose element type must match <paramref name="elementType"/>.</summary>
    public GgufArray(GgufValueType elementType, System.Array items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (!GgufValueTypes.IsKnown(elementType))
            throw new ArgumentOutOfRangeException(nameof(elementType), elementType, "Unknown GGUF value type.");
        var clr = GgufValueTypes.ClrType(elementType);
        if (items.GetType().GetElementType() != clr || items.Rank != 1)
            throw new ArgumentException($"A GGUF {GgufValueTypes.Name(elementType)} array needs a {clr.Name}[], not a {items.GetType().Name}.", nameof(items));
        if (items is object[] refs && System.Array.IndexOf(refs, null) >= 0)
            throw new ArgumentException("GGUF arrays cannot hold null elements.", nameof(items));
        ElementType = elementType;
        _items = items;
    }

    public GgufValueType ElementType { get; }

    public int Count => _items.Length;

    /// <summary>The elements as <typeparamref name="T"/>, which must be the CLR type of <see cref="ElementType"/>.</summary>
    public IReadOnlyList<T> Get<T>() =>
        // Compared exactly: the CLR lets an int[] pass as a uint[], which would hide a wrong type.
        typeof(T) == GgufValueTypes.ClrType(ElementType)
            ? (T[])_items
            : throw new InvalidOperationException($"This GGUF array holds {GgufValueTypes.Name(ElementType)} elements, not {typeof(T).Name}.");

    internal System.Array Items => _items;

    public static GgufArray Of(params byte[] items) => new(GgufValueType.UInt8, items);
    public static GgufArray Of(params sbyte[] items) => new(GgufValueType.Int8, items);
    public static GgufArray Of(params ushort[] items) => new(GgufValueType.UInt16, items);
    public static GgufArray Of(params short[] items) => new(GgufValueType.Int16, items);
    public static GgufArray Of(params uint[] items) => new(GgufValueType.UInt32, items);
    public static GgufArray Of(params int[] items) => new(GgufValueType.Int32, items);
    public static GgufArray Of(params float[] items) => new(GgufValueType.Float32, items);
    public static GgufArray Of(params bool[] items) => new(GgufValueType.Bool, items);
    public static GgufArray Of(params string[] items) => new(GgufValueType.String, items);
    public static GgufArray Of(params ulong[] items) => new(GgufValueType.UInt64, items);
    public static GgufArray Of(params long[] items) => new(GgufValueType.Int64, items);
    public static GgufArray Of(params double[] items) => new(GgufValueType.Float64, items);
    public static GgufArray Of(params GgufArray[] items) => new(GgufValueType.Array, items);

    public bool Equals(GgufArray? other)
    {
        if (other is null || other.ElementType != ElementType || other.Count != Count) return false;
        return _items switch
        {
            // float.Equals (unlike ==) treats NaN as equal to itself, so a NaN read back compares equal.
            float[] f => f.AsSpan().SequenceEqual((float[])other._items),
            double[] d => d.AsSpan().SequenceEqual((double[])other._items),
            _ => ((IStructuralEquatable)_items).Equals(other._items, StructuralComparisons.StructuralEqualityComparer),
        };
    }

    public override bool Equals(object? obj) => Equals(obj as GgufArray);

    public override int GetHashCode() => HashCode.Combine(ElementType, Count);

    public override string ToString() => $"[{Count} × {GgufValueTypes.Name(ElementType)}]";
}
