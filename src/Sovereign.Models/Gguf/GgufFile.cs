namespace Sovereign.Models.Gguf;

/// <summary>
/// The validated header of a GGUF file: its metadata, its tensor table and where the tensor data starts.
/// Holds no file handle and none of the tensor data. Immutable; safe to share between threads.
/// </summary>
public sealed class GgufFile
{
    public const uint DefaultAlignment = 32;

    internal GgufFile(string fileName, uint version, long fileSize, IReadOnlyDictionary<string, GgufValue> metadata,
        IReadOnlyList<GgufTensorInfo> tensors, uint alignment, long dataOffset)
    {
        FileName = fileName;
        Version = version;
        FileSize = fileSize;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        ParameterCount = tensors.Sum(t => t.ElementCount);
        Architecture = GetString("general.architecture");
        Quantization = FileTypeName() ?? DominantTensorType();
        if (Architecture is not null && GetInteger($"{Architecture}.context_length") is { } ctx and > 0 and <= int.MaxValue)
            ContextLength = (int)ctx;
    }

    /// <summary>The file's name (no folder), as used in error messages.</summary>
    public string FileName { get; }

    /// <summary>GGUF format version: 2 or 3.</summary>
    public uint Version { get; }

    public long FileSize { get; }

    /// <summary>Every metadata key-value pair, in file order.</summary>
    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }

    /// <summary>Tensor table, in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>general.alignment, or 32 when absent. Always a power of two.</summary>
    public uint Alignment { get; }

    /// <summary>Absolute file offset where the tensor data section starts.</summary>
    public long DataOffset { get; }

    /// <summary>general.architecture (llama, qwen2, gemma3, …).</summary>
    public string? Architecture { get; }

    /// <summary>general.name.</summary>
    public string? Name => GetString("general.name");

    /// <summary>general.license.</summary>
    public string? License => GetString("general.license");

    /// <summary>Sum of all tensors' element counts.</summary>
    public long ParameterCount { get; }

    /// <summary>llama.cpp's name for general.file_type (Q8_0, F16, Q4_K_M, …), else the type holding most weights.</summary>
    public string? Quantization { get; }

    /// <summary>&lt;architecture&gt;.context_length: the context the model was trained for.</summary>
    public int? ContextLength { get; }

    /// <summary>tokenizer.chat_template (a Jinja template), when present.</summary>
    public string? ChatTemplate => GetString("tokenizer.chat_template");

    public bool HasChatTemplate => !string.IsNullOrEmpty(ChatTemplate);

    public GgufValue? Get(string key) => Metadata.GetValueOrDefault(key);

    public string? GetString(string key) => Get(key)?.AsString();

    /// <summary>The value of any integer type, or null when absent, not an integer, or beyond a long.</summary>
    public long? GetInteger(string key) => Get(key) is { } v && v.TryGetInt64(out var n) ? n : null;

    /// <summary>The value of any numeric type, or null.</summary>
    public double? GetNumber(string key) => Get(key) is { } v && v.TryGetDouble(out var d) ? d : null;

    private string? FileTypeName() => GetInteger("general.file_type") is { } ft ? GgmlTypes.FileTypeName(ft) : null;

    private string? DominantTensorType()
    {
        // Norms and biases are often F32 even in quantized files; only matrices say how the weights were stored.
        var matrices = Tensors.Where(t => t.Dimensions.Count >= 2).ToList();
        var pool = matrices.Count > 0 ? matrices : Tensors;
        return pool.GroupBy(t => t.Type)
            .Select(g => (Type: g.Key, Elements: g.Sum(t => t.ElementCount)))
            .OrderByDescending(g => g.Elements).ThenBy(g => g.Type)
            .Select(g => g.Type.ToString())
            .FirstOrDefault();
    }
}
