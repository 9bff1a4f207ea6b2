using System.Buffers;
using System.Globalization;

namespace Sovereign.Models.Gguf;

/// <summary>Shape and contents of a synthetic llama model. Immutable.</summary>
public sealed record SyntheticLlamaOptions
{
    /// <summary>n_vocab: at least <see cref="SyntheticLlamaModel.MinVocabSize"/> (3 special + 256 byte tokens).</summary>
    public int VocabSize { get; init; } = 512;

    /// <summary>n_embd; a multiple of 32 for Q8_0 and of <see cref="HeadCount"/>, with an even head size.</summary>
    public int EmbeddingLength { get; init; } = 64;

    /// <summary>n_layer.</summary>
    public int BlockCount { get; init; } = 2;

    /// <summary>n_head.</summary>
    public int HeadCount { get; init; } = 4;

    /// <summary>n_head_kv (grouped-query attention); null means <see cref="HeadCount"/>.</summary>
    public int? HeadCountKv { get; init; }

    /// <summary>n_ff; a multiple of 32 for Q8_0.</summary>
    public int FeedForwardLength { get; init; } = 128;

    public int ContextLength { get; init; } = 2048;

    /// <summary>Type of the weight matrices: F32, F16 or Q8_0 (norms are always F32).</summary>
    public GgmlType TensorType { get; init; } = GgmlType.F32;

    /// <summary>Same seed and shape, same bytes.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Weights are uniform in ±WeightScale; small enough that logits stay finite.</summary>
    public float WeightScale { get; init; } = 0.02f;

    public string Name { get; init; } = "synthetic-llama";

    /// <summary>tokenizer.chat_template, when wanted.</summary>
    public string? ChatTemplate { get; init; }

    public float RmsNormEpsilon { get; init; } = 1e-5f;

    public float RopeFreqBase { get; init; } = 10000f;

    internal int KvHeads => HeadCountKv ?? HeadCount;

    internal int HeadSize => EmbeddingLength / HeadCount;

    internal int KvEmbeddingLength => HeadSize * KvHeads;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting llama.cpp would refuse.</summary>
    public void Validate()
    {
        static void Check(bool ok, string message)
        {
            if (!ok) throw new ArgumentException(message);
        }

        Check(VocabSize >= SyntheticLlamaModel.MinVocabSize, $"VocabSize must be at least {SyntheticLlamaModel.MinVocabSize}.");
        Check(EmbeddingLength > 0 && BlockCount > 0 && HeadCount > 0 && KvHeads > 0 && FeedForwardLength > 0 && ContextLength > 0,
            "Sizes must be positive.");
        Check(EmbeddingLength % HeadCount == 0, "EmbeddingLength must be a multiple of HeadCount.");
        Check(HeadSize % 2 == 0, "The head size (EmbeddingLength / HeadCount) must be even for RoPE.");
        Check(HeadCount % KvHeads == 0, "HeadCount must be a multiple of HeadCountKv.");
        Check(TensorType is GgmlType.F32 or GgmlType.F16 or GgmlType.Q8_0, "TensorType must be F32, F16 or Q8_0.");
        var block = GgmlTypes.BlockSize(TensorType);
        Check(EmbeddingLength % block == 0 && FeedForwardLength % block == 0,
            $"EmbeddingLength and FeedForwardLength must be multiples of {block} for {TensorType}.");
        Check(WeightScale is > 0 and < 10 && float.IsFinite(WeightScale), "WeightScale must be small and positive.");
        Check(!string.IsNullOrWhiteSpace(Name), "Name is required.");
    }
}

/// <summary>
/// Writes a llama-architecture GGUF model with seeded random weights and a small SentencePiece-style vocabulary,
/// which llama.cpp loads and runs like a real model. It exists so tests and benchmarks can have models of any
/// shape without downloading any; its output is noise. Tensors are generated and written a chunk at a time,
/// so a model of hundreds of millions of parameters needs only a few megabytes of memory. Stateless; thread-safe.
/// </summary>
public static class SyntheticLlamaModel
{
    /// <summary>&lt;unk&gt;, &lt;s&gt;, &lt;/s&gt; and the 256 byte tokens.</summary>
    public const int MinVocabSize = 3 + 256;

    public const int UnknownTokenId = 0;
    public const int BosTokenId = 1;
    public const int EosTokenId = 2;

    // llama_token_type values.
    private const int TypeNormal = 1;
    private const int TypeUnknown = 2;
    private const int TypeControl = 3;
    private const int TypeByte = 6;

    private const char SpaceMark = '\u2581'; // "▁", SentencePiece's word-start mark
    private const int ChunkValues = 1 << 16; // a multiple of every block size

    private static readonly string[] CommonWords =
    [
        "the", "a", "and", "to", "of", "in", "is", "was", "he", "she", "it", "you", "I", "that", "for", "on", "with",
        "as", "his", "her", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "but", "not", "what",
        "all", "were", "we", "when", "your", "can", "said", "there", "an", "each", "which", "do", "how", "their", "if",
        "will", "up", "other", "about", "out", "many", "then", "them", "so", "some", "would", "like", "him", "into",
        "time", "has", "look", "two", "more", "go", "see", "no", "way", "could", "my", "than", "first", "been", "who",
        "its", "now", "long", "day", "did", "get", "come", "made", "may", "Once", "upon", "little", "girl",
        "boy", "named", "Lily", "Tom", "happy", "play", "friend", "mom", "dog", "cat", "big", "sun", "tree", "ball",
        "hello", "world", "yes", "OK", "Hello", "The", "He", "She", "It", "They", "We", "You",
    ];

    /// <summary>The vocabulary written for <paramref name="vocabSize"/> tokens: specials, bytes, then pieces.</summary>
    public static IReadOnlyList<string> BuildVocabulary(int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, MinVocabSize);
        var tokens = new List<string>(vocabSize) { "<unk>", "<s>", "</s>" };
        for (var b = 0; b < 256; b++) tokens.Add(string.Create(CultureInfo.InvariantCulture, $"<0x{b:X2}>"));
        var seen = new HashSet<string>(tokens, StringComparer.Ordinal);
        foreach (var piece in Pieces())
        {
            if (tokens.Count == vocabSize) break;
            if (seen.Add(piece)) tokens.Add(piece);
        }
        return tokens;
    }

    /// <summary>Parameters (weights) of a model of this shape.</summary>
    public static long CountParameters(SyntheticLlamaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Tensors(options).Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d));
    }

    /// <summary>
    /// Writes the model to <paramref name="path"/> by way of a temporary file renamed into place, so that an
    /// interrupted run never leaves a file that looks complete.
    /// </summary>
    public static void Write(string path, SyntheticLlamaOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new SyntheticLlamaOptions();
        options.Validate();
        var full = Path.GetFullPath(path);
        var temp = $"{full}.{Guid.NewGuid():N}.partial";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
                Write(stream, options);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Writes the model to <paramref name="output"/>, which is left open.</summary>
    public static void Write(Stream output, SyntheticLlamaOptions options)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        using var writer = new GgufWriter(output, leaveOpen: true);
        AddMetadata(writer, options);
        var tensors = Tensors(options).ToList();
        foreach (var t in tensors) writer.AddTensor(t.Name, t.Type, t.Dims);
        writer.WriteHeader();

        var values = ArrayPool<float>.Shared.Rent(ChunkValues);
        var bytes = ArrayPool<byte>.Shared.Rent(GgmlQuantization.EncodedSize(GgmlType.F32, ChunkValues));
        try
        {
            for (var i = 0; i < tensors.Count; i++)
            {
                var t = tensors[i];
                var total = t.Dims.Aggregate(1L, (a, d) => a * d);
                // Each tensor has its own stream of numbers, so changing one tensor's size leaves the others alone.
                var rng = new SplitMix64(options.Seed ^ (0x9E3779B97F4A7C15UL * (ulong)(i + 1)));
                for (long done = 0; done < total; done += ChunkValues)
                {
                    var n = (int)Math.Min(ChunkValues, total - done);
                    var chunk = values.AsSpan(0, n);
                    if (t.IsNorm) chunk.Fill(1f);
                    else
                        for (var j = 0; j < n; j++) chunk[j] = rng.NextSymmetric() * options.WeightScale;
                    var encoded = bytes.AsSpan(0, GgmlQuantization.EncodedSize(t.Type, n));
                    GgmlQuantization.Encode(t.Type, chunk, encoded);
                    writer.WriteTensorData(encoded);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(values);
            ArrayPool<byte>.Shared.Return(bytes);
        }
        writer.Finish();
    }

    private static void AddMetadata(GgufWriter w, SyntheticLlamaOptions o)
    {
        w.AddMetadata("general.architecture", "llama");
        w.AddMetadata("general.name", o.Name);
        w.AddMetadata("general.file_type", (uint)GgmlTypes.FileTypeFor(o.TensorType));
        w.AddMetadata("general.quantization_version", 2u);
        w.AddMetadata("llama.vocab_size", (uint)o.VocabSize);
        w.AddMetadata("llama.context_length", (uint)o.ContextLength);
        w.AddMetadata("llama.embedding_length", (uint)o.EmbeddingLength);
        w.AddMetadata("llama.block_count", (uint)o.BlockCount);
        w.AddMetadata("llama.feed_forward_length", (uint)o.FeedForwardLength);
        w.AddMetadata("llama.attention.head_count", (uint)o.HeadCount);
        w.AddMetadata("llama.attention.head_count_kv", (uint)o.KvHeads);
        w.AddMetadata("llama.rope.dimension_count", (uint)o.HeadSize);
        w.AddMetadata("llama.rope.freq_base", o.RopeFreqBase);
        w.AddMetadata("llama.attention.layer_norm_rms_epsilon", o.RmsNormEpsilon);

        var tokens = BuildVocabulary(o.VocabSize);
        var scores = new float[tokens.Count];
        var types = new int[tokens.Count];
        for (var i = 0; i < tokens.Count; i++)
        {
            types[i] = i switch
            {
                UnknownTokenId => TypeUnknown,
                BosTokenId or EosTokenId => TypeControl,
                < MinVocabSize => TypeByte,
                _ => TypeNormal,
            };
            // SentencePiece merges the highest-scoring pair first; earlier (more common) pieces score higher.
            scores[i] = types[i] == TypeNormal ? -(i - MinVocabSize) : 0f;
        }
        w.AddMetadata("tokenizer.ggml.model", "llama");
        w.AddMetadata("tokenizer.ggml.tokens", GgufArray.Of([.. tokens]));
        w.AddMetadata("tokenizer.ggml.scores", GgufArray.Of(scores));
        w.AddMetadata("tokenizer.ggml.token_type", GgufArray.Of(types));
        w.AddMetadata("tokenizer.ggml.bos_token_id", (uint)BosTokenId);
        w.AddMetadata("tokenizer.ggml.eos_token_id", (uint)EosTokenId);
        w.AddMetadata("tokenizer.ggml.unknown_token_id", (uint)UnknownTokenId);
        w.AddMetadata("tokenizer.ggml.add_bos_token", true);
        w.AddMetadata("tokenizer.ggml.add_eos_token", false);
        if (o.ChatTemplate is not null) w.AddMetadata("tokenizer.chat_template", o.ChatTemplate);
    }

    private sealed record TensorSpec(string Name, GgmlType Type, long[] Dims, bool IsNorm = false);

    // Shapes are ggml order (ne0 first), as llama.cpp's llama loader expects them.
    private static IEnumerable<TensorSpec> Tensors(SyntheticLlamaOptions o)
    {
        long embd = o.EmbeddingLength, vocab = o.VocabSize, ff = o.FeedForwardLength, kv = o.KvEmbeddingLength;
        var type = o.TensorType;
        yield return new("token_embd.weight", type, [embd, vocab]);
        for (var l = 0; l < o.BlockCount; l++)
        {
            var p = $"blk.{l}.";
            yield return new(p + "attn_norm.weight", GgmlType.F32, [embd], IsNorm: true);
            yield return new(p + "attn_q.weight", type, [embd, embd]);
            yield return new(p + "attn_k.weight", type, [embd, kv]);
            yield return new(p + "attn_v.weight", type, [embd, kv]);
            yield return new(p + "attn_output.weight", type, [embd, embd]);
            yield return new(p + "ffn_norm.weight", GgmlType.F32, [embd], IsNorm: true);
            yield return new(p + "ffn_gate.weight", type, [embd, ff]);
            yield return new(p + "ffn_up.weight", type, [embd, ff]);
            yield return new(p + "ffn_down.weight", type, [ff, embd]);
        }
        yield return new("output_norm.weight", GgmlType.F32, [embd], IsNorm: true);
        yield return new("output.weight", type, [embd, vocab]);
    }

    private static IEnumerable<string> Pieces()
    {
        var mark = SpaceMark.ToString();
        yield return mark;
        const string lower = "abcdefghijklmnopqrstuvwxyz";
        const string upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        foreach (var c in lower + upper + "0123456789.,!?'\"-:;()") yield return c.ToString();
        foreach (var w in CommonWords) yield return mark + w;
        foreach (var c in lower + upper) yield return mark + c;
        foreach (var a in lower)
            foreach (var b in lower)
                yield return $"{a}{b}";
        foreach (var a in lower)
            foreach (var b in lower)
                yield return $"{mark}{a}{b}";
        foreach (var a in lower)
            foreach (var b in lower)
                foreach (var c in lower)
                    yield return $"{a}{b}{c}";
        foreach (var a in lower)
            foreach (var b in lower)
                foreach (var c in lower)
                    yield return $"{mark}{a}{b}{c}";
        // Beyond ~36k pieces: numbered filler, still unique and printable.
        for (var i = 0; ; i++) yield return string.Create(CultureInfo.InvariantCulture, $"{mark}tok{i}");
    }

    /// <summary>SplitMix64: tiny, fast and good enough for weights nobody trains.</summary>
    internal struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [-1, 1).</summary>
        public float NextSymmetric() => (Next() >> 40) * (2f / (1 << 24)) - 1f;
    }
}
