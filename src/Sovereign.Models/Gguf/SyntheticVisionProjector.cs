using System.Runtime.InteropServices;

namespace Sovereign.Models.Gguf;

/// <summary>Shape of a synthetic vision projector. Immutable.</summary>
public sealed record SyntheticVisionOptions
{
    /// <summary>n_embd of the text model the projector feeds: its output width must match, or llama.cpp refuses the pair.</summary>
    public required int TextEmbeddingLength { get; init; }

    /// <summary>Images are resized to this square before encoding. Default 32.</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>Side of a patch; (ImageSize / PatchSize)² patches become as many image tokens. Default 8 (16 tokens).</summary>
    public int PatchSize { get; init; } = 8;

    public int EmbeddingLength { get; init; } = 32;

    public int FeedForwardLength { get; init; } = 64;

    /// <summary>Encoder blocks. LLaVA's projector reads the one before the last, so at least 2. Default 2.</summary>
    public int BlockCount { get; init; } = 2;

    public int HeadCount { get; init; } = 2;

    /// <summary>Width of the projector's hidden layer. Default 64.</summary>
    public int ProjectionLength { get; init; } = 64;

    /// <summary>Same seed and shape, same bytes; another seed, other image embeddings.</summary>
    public ulong Seed { get; init; } = 1;

    public float WeightScale { get; init; } = 0.05f;

    public int PatchCount => ImageSize / PatchSize * (ImageSize / PatchSize);

    public void Validate()
    {
        if (TextEmbeddingLength <= 0 || ImageSize <= 0 || PatchSize <= 0 || EmbeddingLength <= 0 || FeedForwardLength <= 0 || HeadCount <= 0
            || ProjectionLength <= 0)
            throw new ArgumentException("Sizes must be positive.");
        if (ImageSize % PatchSize != 0) throw new ArgumentException("ImageSize must be a multiple of PatchSize.");
        if (EmbeddingLength % HeadCount != 0) throw new ArgumentException("EmbeddingLength must be a multiple of HeadCount.");
        if (BlockCount < 2) throw new ArgumentException("BlockCount must be at least 2 (the projector reads the second to last block).");
    }
}

/// <summary>
/// Writes a vision projector ("mmproj") GGUF with random weights in llama.cpp's CLIP layout and LLaVA's two-layer MLP
/// projector: a real file that llama.cpp's multimodal library loads beside a text model and runs on real images, so the
/// image path can be tested and benchmarked without downloading a vision model. Its image embeddings mean nothing, but
/// they are deterministic and differ between images, which is what a test of the plumbing needs.
/// </summary>
public static class SyntheticVisionProjector
{
    public static void Write(string path, SyntheticVisionOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        using var writer = new GgufWriter(stream, leaveOpen: true);

        writer.AddMetadata("general.architecture", "clip");
        writer.AddMetadata("general.name", "synthetic-vision-projector");
        writer.AddMetadata("general.file_type", 0u);
        writer.AddMetadata("clip.has_vision_encoder", true);
        writer.AddMetadata("clip.has_text_encoder", false);
        writer.AddMetadata("clip.has_llava_projector", true);
        writer.AddMetadata("clip.projector_type", "mlp");
        writer.AddMetadata("clip.use_gelu", true);
        writer.AddMetadata("clip.vision.image_size", (uint)options.ImageSize);
        writer.AddMetadata("clip.vision.patch_size", (uint)options.PatchSize);
        writer.AddMetadata("clip.vision.embedding_length", (uint)options.EmbeddingLength);
        writer.AddMetadata("clip.vision.feed_forward_length", (uint)options.FeedForwardLength);
        writer.AddMetadata("clip.vision.block_count", (uint)options.BlockCount);
        writer.AddMetadata("clip.vision.projection_dim", (uint)options.TextEmbeddingLength);
        writer.AddMetadata("clip.vision.attention.head_count", (uint)options.HeadCount);
        writer.AddMetadata("clip.vision.attention.layer_norm_epsilon", 1e-5f);
        writer.AddMetadata("clip.vision.image_mean", GgufArray.Of(0.5f, 0.5f, 0.5f));
        writer.AddMetadata("clip.vision.image_std", GgufArray.Of(0.5f, 0.5f, 0.5f));

        var tensors = Tensors(options).ToList();
        foreach (var t in tensors) writer.AddTensor(t.Name, GgmlType.F32, t.Dims);
        writer.WriteHeader();
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            var values = new float[t.Dims.Aggregate(1L, (a, d) => a * d)];
            if (t.Kind == Fill.One) values.AsSpan().Fill(1f);
            else if (t.Kind == Fill.Random)
            {
                var rng = new SyntheticLlamaModel.SplitMix64(options.Seed ^ (0x9E3779B97F4A7C15UL * (ulong)(i + 1)));
                for (var j = 0; j < values.Length; j++) values[j] = rng.NextSymmetric() * options.WeightScale;
            }
            writer.WriteTensorData(MemoryMarshal.AsBytes(values.AsSpan()));
        }
        writer.Finish();
    }

    private enum Fill
    {
        Random,
        One,
        Zero,
    }

    /// <summary>Dimensions in ggml order (the fastest-varying first).</summary>
    private static IEnumerable<(string Name, long[] Dims, Fill Kind)> Tensors(SyntheticVisionOptions o)
    {
        long e = o.EmbeddingLength, ff = o.FeedForwardLength, p = o.PatchSize;
        yield return ("v.patch_embd.weight", [p, p, 3, e], Fill.Random);
        yield return ("v.class_embd", [e], Fill.Random);
        yield return ("v.position_embd.weight", [e, o.PatchCount + 1], Fill.Random);
        yield return ("v.pre_ln.weight", [e], Fill.One);
        yield return ("v.pre_ln.bias", [e], Fill.Zero);
        for (var b = 0; b < o.BlockCount; b++)
        {
            var n = $"v.blk.{b}.";
            foreach (var proj in new[] { "attn_q", "attn_k", "attn_v", "attn_out" })
            {
                yield return (n + proj + ".weight", [e, e], Fill.Random);
                yield return (n + proj + ".bias", [e], Fill.Zero);
            }
            yield return (n + "ln1.weight", [e], Fill.One);
            yield return (n + "ln1.bias", [e], Fill.Zero);
            yield return (n + "ffn_up.weight", [e, ff], Fill.Random);
            yield return (n + "ffn_up.bias", [ff], Fill.Zero);
            yield return (n + "ffn_down.weight", [ff, e], Fill.Random);
            yield return (n + "ffn_down.bias", [e], Fill.Zero);
            yield return (n + "ln2.weight", [e], Fill.One);
            yield return (n + "ln2.bias", [e], Fill.Zero);
        }
        yield return ("mm.0.weight", [e, o.ProjectionLength], Fill.Random);
        yield return ("mm.0.bias", [o.ProjectionLength], Fill.Zero);
        yield return ("mm.2.weight", [o.ProjectionLength, o.TextEmbeddingLength], Fill.Random);
        yield return ("mm.2.bias", [o.TextEmbeddingLength], Fill.Zero);
    }
}
