using Sovereign.Models.Gguf;

namespace Sovereign.TestSupport.Models;

/// <summary>Model files tests derive from the real ones in ../shared/models, written to the test's own folder.</summary>
public static class TestModelFiles
{
    /// <summary>
    /// Copies a GGUF file with <c>llama.context_length</c> set to <paramref name="contextLength"/>, every other byte of
    /// meaning unchanged. The tiny model declares 2048 tokens and the engine caps its context there; tests that need a
    /// long prompt (an app's instructions) or a long fixed-length answer (to watch it stream and stop it) use the copy.
    /// </summary>
    public static void WriteWithContextLength(string source, string destination, uint contextLength)
    {
        var file = GgufReader.Read(source);
        using var input = File.OpenRead(source);
        using var output = File.Create(destination);
        using var writer = new GgufWriter(output, file.Alignment);
        foreach (var (key, value) in file.Metadata)
            writer.AddMetadata(key, key == "llama.context_length" ? GgufValue.UInt32(contextLength) : value);
        foreach (var tensor in file.Tensors) writer.AddTensor(tensor.Name, tensor.Type, [.. tensor.Dimensions]);
        writer.WriteHeader();
        foreach (var tensor in file.Tensors)
        {
            var data = new byte[tensor.ByteSize];
            input.Position = file.DataOffset + tensor.Offset;
            input.ReadExactly(data);
            writer.WriteTensorData(data);
        }
        writer.Finish();
    }
}
