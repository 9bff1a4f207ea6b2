using System.Security.Cryptography;
using Sovereign.Models.Gguf;

namespace Sovereign.Models.Tests.Gguf;

public sealed class SyntheticLlamaModelTests
{
    private static readonly SyntheticLlamaOptions Small = new()
    {
        VocabSize = 300, EmbeddingLength = 64, HeadCount = 4, HeadCountKv = 2, FeedForwardLength = 96, BlockCount = 2,
    };

    private static byte[] Bytes(SyntheticLlamaOptions options)
    {
        using var stream = new MemoryStream();
        SyntheticLlamaModel.Write(stream, options);
        return stream.ToArray();
    }

    [Theory]
    [InlineData(GgmlType.F32, "F32")]
    [InlineData(GgmlType.F16, "F16")]
    [InlineData(GgmlType.Q8_0, "Q8_0")]
    public void Writes_a_llama_model_with_the_metadata_and_shapes_llama_cpp_expects(GgmlType type, string quantization)
    {
        var options = Small with { TensorType = type, ContextLength = 4096, ChatTemplate = "{{ messages }}" };
        var file = RawGguf.Read(Bytes(options));

        Assert.Equal("llama", file.Architecture);
        Assert.Equal("synthetic-llama", file.Name);
        Assert.Equal(quantization, file.Quantization);
        Assert.Equal(4096, file.ContextLength);
        Assert.True(file.HasChatTemplate);
        Assert.Equal(64, file.GetInteger("llama.embedding_length"));
        Assert.Equal(2, file.GetInteger("llama.block_count"));
        Assert.Equal(96, file.GetInteger("llama.feed_forward_length"));
        Assert.Equal(4, file.GetInteger("llama.attention.head_count"));
        Assert.Equal(2, file.GetInteger("llama.attention.head_count_kv"));
        Assert.Equal(16, file.GetInteger("llama.rope.dimension_count"));
        Assert.Equal(300, file.GetInteger("llama.vocab_size"));
        Assert.NotNull(file.GetNumber("llama.attention.layer_norm_rms_epsilon"));
        Assert.Equal("llama", file.GetString("tokenizer.ggml.model"));
        Assert.Equal(1, file.GetInteger("tokenizer.ggml.bos_token_id"));
        Assert.Equal(2, file.GetInteger("tokenizer.ggml.eos_token_id"));
        Assert.Equal(0, file.GetInteger("tokenizer.ggml.unknown_token_id"));

        var shapes = file.Tensors.ToDictionary(t => t.Name, t => (t.Type, Dims: string.Join('x', t.Dimensions)));
        Assert.Equal(2 + 1 + 2 * 9, shapes.Count);
        Assert.Equal((type, "64x300"), shapes["token_embd.weight"]);
        Assert.Equal((type, "64x300"), shapes["output.weight"]);
        Assert.Equal((GgmlType.F32, "64"), shapes["output_norm.weight"]);
        Assert.Equal((type, "64x64"), shapes["blk.1.attn_q.weight"]);
        Assert.Equal((type, "64x32"), shapes["blk.1.attn_k.weight"]);
        Assert.Equal((type, "64x32"), shapes["blk.1.attn_v.weight"]);
        Assert.Equal((type, "64x64"), shapes["blk.1.attn_output.weight"]);
        Assert.Equal((type, "64x96"), shapes["blk.1.ffn_gate.weight"]);
        Assert.Equal((type, "64x96"), shapes["blk.1.ffn_up.weight"]);
        Assert.Equal((type, "96x64"), shapes["blk.1.ffn_down.weight"]);
        Assert.Equal((GgmlType.F32, "64"), shapes["blk.0.attn_norm.weight"]);
        Assert.Equal((GgmlType.F32, "64"), shapes["blk.0.ffn_norm.weight"]);
        Assert.Equal(SyntheticLlamaModel.CountParameters(options), file.ParameterCount);
    }

    [Fact]
    public void The_vocabulary_has_specials_then_the_256_byte_tokens_then_unique_pieces()
    {
        var file = RawGguf.Read(Bytes(Small with { VocabSize = 40_000 }));
        var tokens = file.Metadata["tokenizer.ggml.tokens"].AsArray()!.Get<string>();
        var types = file.Metadata["tokenizer.ggml.token_type"].AsArray()!.Get<int>();
        var scores = file.Metadata["tokenizer.ggml.scores"].AsArray()!.Get<float>();

        Assert.Equal(40_000, tokens.Count);
        Assert.Equal(40_000, types.Count);
        Assert.Equal(40_000, scores.Count);
        Assert.Equal(["<unk>", "<s>", "</s>"], tokens.Take(3));
        Assert.Equal([2, 3, 3], types.Take(3));
        Assert.Equal("<0x00>", tokens[3]);
        Assert.Equal("<0x0A>", tokens[3 + 10]);
        Assert.Equal("<0xFF>", tokens[258]);
        Assert.All(types.Skip(3).Take(256), t => Assert.Equal(6, t));
        Assert.All(types.Skip(259), t => Assert.Equal(1, t));
        Assert.Equal("\u2581", tokens[259]);
        Assert.Contains("\u2581the", tokens);
        Assert.Equal(tokens.Count, tokens.Distinct(StringComparer.Ordinal).Count());
        Assert.True(scores[300] > scores[30_000]);
    }

    [Fact]
    public void The_same_seed_gives_the_same_bytes_and_another_seed_other_weights()
    {
        var a = Bytes(Small with { TensorType = GgmlType.Q8_0 });
        var b = Bytes(Small with { TensorType = GgmlType.Q8_0 });
        var c = Bytes(Small with { TensorType = GgmlType.Q8_0, Seed = 2 });

        Assert.Equal(SHA256.HashData(a), SHA256.HashData(b));
        Assert.Equal(a.Length, c.Length);
        Assert.NotEqual(SHA256.HashData(a), SHA256.HashData(c));
    }

    [Fact]
    public void Weights_are_small_and_finite_and_norms_are_one()
    {
        var bytes = Bytes(Small);
        var file = RawGguf.Read(bytes);
        foreach (var t in file.Tensors)
        {
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(
                bytes.AsSpan((int)(file.DataOffset + t.Offset), (int)t.ByteSize)).ToArray();
            if (t.Name.EndsWith("norm.weight", StringComparison.Ordinal))
                Assert.All(values, v => Assert.Equal(1f, v));
            else
            {
                Assert.All(values, v => Assert.InRange(v, -0.02f, 0.02f));
                Assert.True(values.Distinct().Count() > values.Length / 2, $"{t.Name} does not look random");
            }
        }
    }

    [Fact]
    public void Writing_to_a_path_leaves_only_the_finished_file()
    {
        using var dir = new TempDir();
        var path = dir.File("m.gguf");
        SyntheticLlamaModel.Write(path, Small with { TensorType = GgmlType.F16 });

        Assert.Equal(["m.gguf"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        Assert.Equal("F16", GgufReader.Read(path).Quantization);
    }

    [Theory]
    [InlineData(258, 64, 4, 128, GgmlType.F32)] // vocabulary too small for the byte tokens
    [InlineData(300, 65, 5, 128, GgmlType.F32)] // odd head size
    [InlineData(300, 64, 3, 128, GgmlType.F32)] // heads do not divide the embedding
    [InlineData(300, 48, 4, 128, GgmlType.Q8_0)] // not whole Q8_0 blocks
    [InlineData(300, 64, 4, 100, GgmlType.Q8_0)]
    [InlineData(300, 64, 4, 128, GgmlType.Q4_K)] // no encoder for this type
    public void Shapes_llama_cpp_would_refuse_are_refused(int vocab, int embd, int heads, int ff, GgmlType type)
    {
        var options = new SyntheticLlamaOptions { VocabSize = vocab, EmbeddingLength = embd, HeadCount = heads, FeedForwardLength = ff, TensorType = type };
        Assert.Throws<ArgumentException>(() => Bytes(options));
    }

    [Fact]
    public void Q8_0_quantization_matches_ggml_within_rounding()
    {
        var rng = new Random(3);
        var values = Enumerable.Range(0, 96).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        values[5] = 0;
        var packed = new byte[3 * 34];
        GgmlQuantization.QuantizeQ8_0(values, packed);
        var back = new float[96];
        GgmlQuantization.DequantizeQ8_0(packed, back);

        for (var b = 0; b < 3; b++)
        {
            var block = values.AsSpan(b * 32, 32).ToArray();
            var d = block.Max(MathF.Abs) / 127f;
            Assert.Equal((Half)d, BitConverter.ToHalf(packed, b * 34));
            Assert.Contains(packed.AsSpan(b * 34 + 2, 32).ToArray(), q => q is 127 or 129); // ±127 at the largest value
            for (var j = 0; j < 32; j++) Assert.InRange(back[b * 32 + j] - block[j], -d * 0.51f, d * 0.51f);
        }

        var zeros = new byte[34];
        GgmlQuantization.QuantizeQ8_0(new float[32], zeros);
        Assert.All(zeros, z => Assert.Equal(0, z));
    }
}
