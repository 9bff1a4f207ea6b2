using Sovereign.Core.Errors;
using Sovereign.Models.Gguf;

namespace Sovereign.Models.Tests.Gguf;

/// <summary>Every malformed file is one <see cref="GgufFormatException"/> saying what is wrong, never anything else.</summary>
public sealed class GgufValidationTests
{
    private static GgufFormatException Refused(byte[] bytes, string expectedFragment)
    {
        var e = Assert.Throws<GgufFormatException>(() => RawGguf.Read(bytes));
        Assert.Equal(ErrorKind.InvalidRequest, e.Kind);
        Assert.Equal(400, e.HttpStatus);
        Assert.Equal("invalid_gguf", e.Code);
        Assert.StartsWith("Invalid GGUF file 'test.gguf': ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expectedFragment, e.Message, StringComparison.Ordinal);
        return e;
    }

    private static RawGguf OneTensorHeader(GgmlType type, ulong offset, params ulong[] dims) =>
        RawGguf.Start(tensors: 1, kvs: 1).KvString("general.architecture", "llama").Tensor("blk.0.attn_q.weight", type, offset, dims);

    [Fact]
    public void An_empty_file_is_refused() => Refused([], "too short to be a GGUF file");

    [Fact]
    public void Bad_magic_is_refused()
    {
        var bytes = RawGguf.Start(0, 0).ToArray();
        bytes[3] = (byte)'X';
        var e = Refused(bytes, "does not start with the GGUF magic");
        Assert.Contains("\"GGUX\"", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, e.Offset);
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(4u)]
    [InlineData(0u)]
    public void Unsupported_versions_are_refused(uint version) =>
        Refused(RawGguf.Start(0, 0, version).ToArray(), $"GGUF version {version} is not supported");

    [Fact]
    public void Big_endian_files_are_refused_by_name() =>
        Refused(RawGguf.Start(0, 0, version: 0x03000000).ToArray(), "big-endian");

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(1_000_001UL)]
    public void Absurd_tensor_counts_are_refused(ulong count) =>
        Refused(RawGguf.Start(count, 0).ToArray(), $"claims {count} tensors, more than the limit");

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(100_001UL)]
    public void Absurd_metadata_counts_are_refused(ulong count) =>
        Refused(RawGguf.Start(0, count).ToArray(), $"claims {count} metadata pairs, more than the limit");

    [Fact]
    public void Counts_that_cannot_fit_in_the_file_are_refused_before_reading_on() =>
        Refused(RawGguf.Start(50_000, 1000).Zeros(100).ToArray(), "cannot fit in the 100 bytes left");

    [Fact]
    public void An_absurd_key_length_is_refused() =>
        Refused(RawGguf.Start(0, 1).U64(ulong.MaxValue).Zeros(16).ToArray(), "more than the limit of 1048576");

    [Fact]
    public void A_key_longer_than_the_rest_of_the_file_is_refused() =>
        Refused(RawGguf.Start(0, 1).U64(5000).Zeros(16).ToArray(), "is 5000 bytes long but only 16 bytes remain");

    [Fact]
    public void A_string_value_longer_than_the_file_is_refused() =>
        Refused(RawGguf.Start(0, 1).Kv("general.name", GgufValueType.String).U64(1_000_000).Zeros(8).ToArray(),
            "value of metadata key 'general.name' is 1000000 bytes long but only 8 bytes remain");

    [Fact]
    public void A_string_value_over_64_MiB_is_refused() =>
        Refused(RawGguf.Start(0, 1).Kv("general.name", GgufValueType.String).U64(64UL << 21).Zeros(8).ToArray(),
            "more than the limit of 67108864");

    [Fact]
    public void An_absurd_array_length_is_refused() =>
        Refused(RawGguf.Start(0, 1).Kv("tokenizer.ggml.scores", GgufValueType.Array).U32((uint)GgufValueType.Float32).U64(ulong.MaxValue).Zeros(8).ToArray(),
            "is an array of 18446744073709551615 elements, more than the limit");

    [Fact]
    public void An_array_longer_than_the_rest_of_the_file_is_refused_before_allocating() =>
        Refused(RawGguf.Start(0, 1).Kv("tokenizer.ggml.tokens", GgufValueType.Array).U32((uint)GgufValueType.String).U64(1_000_000_000).Zeros(64).ToArray(),
            "array of 1000000000 string elements, which needs at least 8000000000 bytes but only 64 remain");

    [Fact]
    public void An_unknown_value_type_is_refused() =>
        Refused(RawGguf.Start(0, 1).Str("general.foo").U32(13).Zeros(8).ToArray(), "metadata key 'general.foo' has unknown value type 13");

    [Fact]
    public void An_unknown_array_element_type_is_refused() =>
        Refused(RawGguf.Start(0, 1).Kv("general.foo", GgufValueType.Array).U32(99).U64(1).Zeros(8).ToArray(),
            "metadata key 'general.foo' is an array of unknown value type 99");

    [Fact]
    public void Nested_arrays_are_read_up_to_a_bounded_depth()
    {
        static RawGguf Nested(int depth)
        {
            var raw = RawGguf.Start(0, 1).Kv("general.nested", GgufValueType.Array);
            for (var i = 1; i < depth; i++) raw.U32((uint)GgufValueType.Array).U64(1);
            return raw.U32((uint)GgufValueType.UInt8).U64(2).U8(7).U8(9);
        }

        var ok = Nested(GgufLimits.MaxArrayDepth).Parse();
        var inner = ok.Metadata["general.nested"].AsArray()!;
        for (var i = 1; i < GgufLimits.MaxArrayDepth; i++) inner = inner.Get<GgufArray>()[0];
        Assert.Equal([(byte)7, (byte)9], inner.Get<byte>());

        Refused(Nested(GgufLimits.MaxArrayDepth + 1).ToArray(), "nests arrays more than 8 deep");
    }

    [Fact]
    public void A_duplicate_metadata_key_is_refused() =>
        Refused(RawGguf.Start(0, 2).KvString("general.name", "a").KvString("general.name", "b").ToArray(),
            "metadata key 'general.name' appears more than once");

    [Fact]
    public void An_empty_metadata_key_is_refused() =>
        Refused(RawGguf.Start(0, 1).KvString("", "a").ToArray(), "has an empty key");

    [Theory]
    [InlineData(4u)] // Q4_2, removed from ggml
    [InlineData(31u)] // Q4_0_4_4, removed
    [InlineData(40u)]
    [InlineData(uint.MaxValue)]
    public void An_unknown_tensor_type_is_refused(uint type) =>
        Refused(OneTensorHeader((GgmlType)type, 0, 32).AlignTo(32).Zeros(256).ToArray(),
            $"tensor 'blk.0.attn_q.weight' has unknown tensor type {type}");

    [Fact]
    public void More_than_four_dimensions_are_refused() =>
        Refused(OneTensorHeader(GgmlType.F32, 0, 1, 1, 1, 1, 1).AlignTo(32).Zeros(64).ToArray(), "has 5 dimensions; ggml supports at most 4");

    [Fact]
    public void A_zero_dimension_is_refused() =>
        Refused(OneTensorHeader(GgmlType.F32, 0, 4, 0).AlignTo(32).Zeros(64).ToArray(), "has dimension 1 of size 0");

    [Fact]
    public void Dimensions_whose_product_overflows_are_refused() =>
        Refused(OneTensorHeader(GgmlType.F32, 0, 1UL << 32, 1UL << 32).AlignTo(32).Zeros(64).ToArray(), "product overflows");

    [Fact]
    public void A_byte_size_that_overflows_is_refused() =>
        Refused(OneTensorHeader(GgmlType.F64, 0, 1UL << 31, 1UL << 31).AlignTo(32).Zeros(64).ToArray(), "byte size overflows");

    [Fact]
    public void Rows_that_are_not_whole_blocks_are_refused() =>
        Refused(OneTensorHeader(GgmlType.Q8_0, 0, 16, 2).AlignTo(32).Zeros(64).ToArray(), "rows of 16 elements, not a multiple of the Q8_0 block size 32");

    [Fact]
    public void A_tensor_name_longer_than_llama_cpp_allows_is_refused() =>
        Refused(RawGguf.Start(1, 0).Tensor(new string('x', 64), GgmlType.F32, 0, 4).AlignTo(32).Zeros(32).ToArray(),
            "name of tensor 0 is 64 bytes long, more than the limit of 63");

    [Fact]
    public void A_duplicate_tensor_name_is_refused() =>
        Refused(RawGguf.Start(2, 0).Tensor("a", GgmlType.F32, 0, 8).Tensor("a", GgmlType.F32, 32, 8).AlignTo(32).Zeros(64).ToArray(),
            "tensor 'a' appears more than once");

    [Fact]
    public void Tensor_data_past_the_end_of_the_file_is_refused_with_where_it_lies()
    {
        var raw = OneTensorHeader(GgmlType.F32, 32, 1024).AlignTo(32);
        var dataStart = raw.Position;
        var bytes = raw.Zeros(1000).ToArray();

        var e = Refused(bytes, $"tensor 'blk.0.attn_q.weight' data (file offset {dataStart + 32}, 4096 bytes) ends past the end of the file ({bytes.Length} bytes)");
        Assert.Equal(
            $"Invalid GGUF file 'test.gguf': tensor 'blk.0.attn_q.weight' data (file offset {dataStart + 32}, 4096 bytes) ends past the end of the file ({bytes.Length} bytes).",
            e.Message);
    }

    [Fact]
    public void An_offset_beyond_any_file_is_refused() =>
        Refused(OneTensorHeader(GgmlType.F32, ulong.MaxValue - 31, 8).AlignTo(32).Zeros(64).ToArray(), "beyond any file");

    [Fact]
    public void A_huge_aligned_offset_is_refused_without_overflow() =>
        Refused(OneTensorHeader(GgmlType.F32, (ulong)long.MaxValue - 31, 8).AlignTo(32).Zeros(64).ToArray(), "ends past the end of the file");

    [Fact]
    public void A_misaligned_offset_is_refused() =>
        Refused(OneTensorHeader(GgmlType.F32, 8, 8).AlignTo(32).Zeros(64).ToArray(), "data offset 8, which is not a multiple of the alignment 32");

    [Fact]
    public void Overlapping_tensors_are_refused() =>
        Refused(RawGguf.Start(2, 0).Tensor("b", GgmlType.F32, 32, 16).Tensor("a", GgmlType.F32, 0, 16).AlignTo(32).Zeros(128).ToArray(),
            "tensor 'a' data (offset 0, 64 bytes) overlaps tensor 'b' (offset 32)");

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(48u)]
    public void An_alignment_that_is_not_a_power_of_two_is_refused(uint alignment) =>
        Refused(RawGguf.Start(0, 1).KvU32("general.alignment", alignment).ToArray(), $"general.alignment is {alignment}, which is not a power of two");

    [Fact]
    public void An_alignment_of_the_wrong_type_is_refused() =>
        Refused(RawGguf.Start(0, 1).Kv("general.alignment", GgufValueType.UInt64).U64(32).ToArray(), "general.alignment must be a uint32, not a uint64");

    [Fact]
    public void Truncation_at_every_offset_of_the_header_and_a_sample_of_the_data_is_refused()
    {
        var bytes = GgufWriterTests.SmallFileWithEveryValueType();
        var full = RawGguf.Read(bytes);
        var dataEnd = full.Tensors.Max(t => full.DataOffset + t.Offset + t.ByteSize);

        for (var length = 0; length < dataEnd; length += length < full.DataOffset + 64 ? 1 : 7)
        {
            var cut = bytes[..length];
            var e = Assert.Throws<GgufFormatException>(() => RawGguf.Read(cut));
            Assert.StartsWith("Invalid GGUF file 'test.gguf': ", e.Message, StringComparison.Ordinal);
            Assert.True(
                e.Message.Contains("truncated", StringComparison.Ordinal) || e.Message.Contains("too short", StringComparison.Ordinal)
                || e.Message.Contains("remain", StringComparison.Ordinal) || e.Message.Contains("cannot fit", StringComparison.Ordinal)
                || e.Message.Contains("past the end", StringComparison.Ordinal) || e.Message.Contains("should start at byte", StringComparison.Ordinal),
                $"Cut at {length}: {e.Message}");
        }

        // The last tensor's trailing padding is optional.
        Assert.Equal(full.Tensors.Count, RawGguf.Read(bytes[..(int)dataEnd]).Tensors.Count);
    }

    [Fact]
    public void Truncated_stories260K_is_refused_at_a_sample_of_offsets()
    {
        var bytes = File.ReadAllBytes(TestFiles.Stories260K);
        var full = RawGguf.Read(bytes);
        var dataEnd = (int)full.Tensors.Max(t => full.DataOffset + t.Offset + t.ByteSize);
        var rng = new Random(260);
        var cuts = Enumerable.Range(0, 300).Select(_ => rng.Next(dataEnd)).Concat([0, 3, 4, 23, 24, (int)full.DataOffset, dataEnd - 1]);
        foreach (var cut in cuts)
            Assert.Throws<GgufFormatException>(() => RawGguf.Read(bytes[..cut]));
    }
}
