using System.Security.Cryptography;
using Sovereign.Models.Gguf;

namespace Sovereign.Models.Tests.Gguf;

public sealed class GgufReaderTests
{
    [Fact]
    public void Reads_stories260K_with_the_facts_its_readme_states()
    {
        var file = GgufReader.Read(TestFiles.Stories260K);

        Assert.Equal("stories260K.gguf", file.FileName);
        Assert.Equal(3u, file.Version);
        Assert.Equal(1_185_376, file.FileSize);
        Assert.Equal("llama", file.Architecture);
        Assert.Equal(2048, file.ContextLength);
        Assert.False(file.HasChatTemplate);
        Assert.Null(file.ChatTemplate);
        Assert.Equal(512, file.Metadata["tokenizer.ggml.tokens"].AsArray()!.Count);
        Assert.Equal("llama", file.GetString("tokenizer.ggml.model"));
        Assert.Equal(64, file.GetInteger("llama.embedding_length"));
        Assert.Equal(5, file.GetInteger("llama.block_count"));
        Assert.Equal("F32", file.Quantization);
        // 5 layers × 9 tensors + token_embd, output_norm, output.
        Assert.Equal(48, file.Tensors.Count);
        Assert.Equal(file.Tensors.Sum(t => t.ElementCount), file.ParameterCount);
        Assert.InRange(file.ParameterCount, 250_000, 300_000);

        var embd = Assert.Single(file.Tensors, t => t.Name == "token_embd.weight");
        Assert.Equal([64L, 512L], embd.Dimensions);
        Assert.Equal(0, file.DataOffset % file.Alignment);
        Assert.All(file.Tensors, t => Assert.True(file.DataOffset + t.Offset + t.ByteSize <= file.FileSize));
    }

    [Fact]
    public void Reads_only_the_header_not_the_tensor_data()
    {
        using var stream = new CountingReadStream(File.OpenRead(TestFiles.Stories260K));
        var file = GgufReader.Read(stream, "stories260K.gguf");

        Assert.True(stream.BytesRead < file.DataOffset + (1 << 16), $"read {stream.BytesRead} bytes of a {file.DataOffset}-byte header");
    }

    [Fact]
    public void The_stories260K_file_is_the_one_the_readme_describes()
    {
        using var stream = File.OpenRead(TestFiles.Stories260K);
        Assert.Equal(TestFiles.Stories260KSha256, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    [Fact]
    public void Quantization_falls_back_to_the_type_holding_most_matrix_weights()
    {
        var bytes = RawGguf.Start(tensors: 3, kvs: 0)
            .Tensor("norm", GgmlType.F32, 0, 4096)
            .Tensor("a", GgmlType.Q4_K, 16384, 256, 4)
            .Tensor("b", GgmlType.Q6_K, 16384 + 576, 256, 1)
            .AlignTo(32).Zeros(16384 + 576 + 224).ToArray();

        Assert.Equal("Q4_K", RawGguf.Read(bytes).Quantization);
    }

    [Theory]
    [InlineData(15u, "Q4_K_M")]
    [InlineData(7u, "Q8_0")]
    [InlineData(1u, "F16")]
    [InlineData(1024u + 18u, "Q6_K")]
    public void Quantization_comes_from_general_file_type_when_present(uint fileType, string expected)
    {
        var file = RawGguf.Start(tensors: 0, kvs: 1).KvU32("general.file_type", fileType).Parse();
        Assert.Equal(expected, file.Quantization);
    }

    [Fact]
    public void Context_length_is_read_from_the_architecture_prefixed_key()
    {
        var file = RawGguf.Start(tensors: 0, kvs: 2)
            .KvString("general.architecture", "qwen2")
            .KvU32("qwen2.context_length", 32768)
            .Parse();

        Assert.Equal("qwen2", file.Architecture);
        Assert.Equal(32768, file.ContextLength);
    }

    [Fact]
    public void Version_2_files_are_accepted()
    {
        var file = RawGguf.Start(tensors: 0, kvs: 1, version: 2).KvString("general.name", "old").Parse();
        Assert.Equal(2u, file.Version);
        Assert.Equal("old", file.Name);
    }

    [Fact]
    public void A_custom_power_of_two_alignment_moves_the_data_section()
    {
        var bytes = RawGguf.Start(tensors: 1, kvs: 1)
            .KvU32("general.alignment", 256)
            .Tensor("t", GgmlType.F32, 0, 8)
            .AlignTo(256).Zeros(32).ToArray();

        var file = RawGguf.Read(bytes);
        Assert.Equal(256u, file.Alignment);
        Assert.Equal(256, file.DataOffset);
    }

    private sealed class CountingReadStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            BytesRead += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
