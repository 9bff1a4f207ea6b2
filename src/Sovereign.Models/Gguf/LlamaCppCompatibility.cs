namespace Sovereign.Models.Gguf;

/// <summary>
/// Rules of llama.cpp's GGUF loader (gguf_init_from_file in the ggml LLamaSharp 0.30.0 ships) that are stricter than
/// the format, which <see cref="GgufReader"/> follows: a file breaking them is valid GGUF that llama.cpp still refuses
/// with only "failed to load model". Checking them at import turns that into a message naming the cause. Stateless;
/// thread-safe.
/// </summary>
public static class LlamaCppCompatibility
{
    /// <summary>Throws <see cref="GgufFormatException"/> naming the first rule <paramref name="file"/> breaks.</summary>
    public static void Check(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        foreach (var (key, value) in file.Metadata)
        {
            if (value.AsArray() is { ElementType: GgufValueType.Array })
                throw new GgufFormatException(file.FileName, $"metadata key '{key}' is an array of arrays, which llama.cpp cannot load");
        }

        // llama.cpp requires each tensor to start exactly where the previous one (padded to the alignment) ended.
        long expected = 0;
        foreach (var t in file.Tensors)
        {
            if (t.Offset != expected)
                throw new GgufFormatException(file.FileName,
                    $"tensor '{t.Name}' data is at offset {t.Offset}, but llama.cpp needs tensors packed in header order, which puts it at {expected}");
            expected += (t.ByteSize + file.Alignment - 1) / file.Alignment * file.Alignment;
        }
    }
}
