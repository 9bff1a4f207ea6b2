namespace Sovereign.Models.Gguf;

/// <summary>
/// One tensor's entry in a GGUF header. Dimensions are ggml's order, fastest-varying first (ne0, ne1, …).
/// <see cref="Offset"/> is relative to the start of the data section (<see cref="GgufFile.DataOffset"/>). Immutable.
/// </summary>
public sealed record GgufTensorInfo(string Name, IReadOnlyList<long> Dimensions, GgmlType Type, long Offset)
{
    /// <summary>Product of the dimensions.</summary>
    public long ElementCount { get; } = Product(Dimensions);

    /// <summary>Bytes of the tensor's data, from the type's block layout.</summary>
    public long ByteSize => GgmlTypes.ByteSize(Type, ElementCount);

    private static long Product(IReadOnlyList<long> dims)
    {
        long n = 1;
        foreach (var d in dims) n = checked(n * d);
        return n;
    }
}
