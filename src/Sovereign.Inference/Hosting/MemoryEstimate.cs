using Sovereign.Models.Gguf;

namespace Sovereign.Inference.Hosting;

/// <summary>
/// What a model costs in memory once loaded, estimated from its GGUF header before llama.cpp sees it: the
/// weights (mapped from the file), the KV cache for every slot's context (F16 keys and values per layer), and
/// the compute and output buffers. An estimate errs high so the budget is not overrun.
/// </summary>
public static class MemoryEstimate
{
    /// <summary>Fixed cost of a runner process beyond its model: the .NET runtime, ASP.NET, llama.cpp's scratch.</summary>
    public const long RunnerOverheadBytes = 96L * 1024 * 1024;

    public static long Estimate(GgufFile gguf, int slots, int contextPerSlot)
    {
        var arch = gguf.Architecture ?? "llama";
        long Meta(string key, long fallback) => gguf.GetInteger($"{arch}.{key}") ?? fallback;
        var layers = Meta("block_count", 32);
        var embd = Meta("embedding_length", 4096);
        var heads = Math.Max(1, Meta("attention.head_count", 32));
        var headsKv = Meta("attention.head_count_kv", heads);
        var keyLength = Meta("attention.key_length", embd / heads);
        var valueLength = Meta("attention.value_length", embd / heads);
        var vocab = gguf.GetInteger($"{arch}.vocab_size") ?? gguf.Get("tokenizer.ggml.tokens")?.AsArray()?.Count ?? 32_000;

        long cells = (long)slots * contextPerSlot;
        var kvBytes = cells * layers * headsKv * (keyLength + valueLength) * 2; // F16 K and V
        var logitsBytes = (long)slots * vocab * sizeof(float);
        // The compute buffer grows with the widest activation times the batch; 512 tokens is llama.cpp's default batch.
        var computeBytes = 512L * Math.Max(embd, Meta("feed_forward_length", embd * 4)) * sizeof(float) * 4;
        return gguf.FileSize + kvBytes + logitsBytes + computeBytes + RunnerOverheadBytes;
    }
}
