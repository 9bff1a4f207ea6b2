using Sovereign.Models.Gguf;

namespace Sovereign.Models.Tests.Gguf;

public sealed class GgufWriterTests
{
    /// <summary>A small file with a metadata value of every type and tensors of several layouts; the bytes are the test input.</summary>
    internal static byte[] SmallFileWithEveryValueType(uint alignment = 32) => Write(alignment, out _);

    private static byte[] Write(uint alignment, out Dictionary<string, byte[]> data)
    {
        using var stream = new MemoryStream();
        data = [];
        using (var w = new GgufWriter(stream, alignment, leaveOpen: true))
        {
            foreach (var (key, value) in EveryValueType()) w.AddMetadata(key, value);
            w.AddTensor("f32", GgmlType.F32, 5, 3);
            w.AddTensor("f16", GgmlType.F16, 7);
            w.AddTensor("q8", GgmlType.Q8_0, 64, 2);
            w.AddTensor("q4k", GgmlType.Q4_K, 256);
            w.AddTensor("i8.4d", GgmlType.I8, 3, 1, 2, 2);
            w.WriteHeader();
            var rng = new Random(7);
            foreach (var t in w.Tensors)
            {
                var bytes = new byte[t.ByteSize];
                rng.NextBytes(bytes);
                data[t.Name] = bytes;
                // Uneven pieces, as a streaming producer would write them.
                for (var i = 0; i < bytes.Length; i += 13) w.WriteTensorData(bytes.AsSpan(i, Math.Min(13, bytes.Length - i)));
            }
            w.Finish();
        }
        return stream.ToArray();
    }

    internal static IEnumerable<(string Key, GgufValue Value)> EveryValueType()
    {
        yield return ("general.architecture", GgufValue.String("llama"));
        yield return ("general.name", GgufValue.String("Ünïcødé ▁name ✓"));
        yield return ("test.u8", GgufValue.UInt8(250));
        yield return ("test.i8", GgufValue.Int8(-100));
        yield return ("test.u16", GgufValue.UInt16(65000));
        yield return ("test.i16", GgufValue.Int16(-32000));
        yield return ("test.u32", GgufValue.UInt32(4_000_000_000));
        yield return ("test.i32", GgufValue.Int32(-2_000_000_000));
        yield return ("test.f32", GgufValue.Float32(3.25f));
        yield return ("test.bool", GgufValue.Bool(true));
        yield return ("test.u64", GgufValue.UInt64(ulong.MaxValue));
        yield return ("test.i64", GgufValue.Int64(long.MinValue));
        yield return ("test.f64", GgufValue.Float64(Math.PI));
        yield return ("test.empty_string", GgufValue.String(""));
        yield return ("test.strings", GgufValue.Array(GgufArray.Of("a", "", "▁b", "<0x0A>")));
        yield return ("test.floats", GgufValue.Array(GgufArray.Of(1f, -2.5f, float.NaN)));
        yield return ("test.ints", GgufValue.Array(GgufArray.Of(1, -2, 3)));
        yield return ("test.bools", GgufValue.Array(GgufArray.Of(true, false, true)));
        yield return ("test.bytes", GgufValue.Array(GgufArray.Of((byte)1, (byte)2)));
        yield return ("test.sbytes", GgufValue.Array(GgufArray.Of((sbyte)-1)));
        yield return ("test.ushorts", GgufValue.Array(GgufArray.Of((ushort)1)));
        yield return ("test.shorts", GgufValue.Array(GgufArray.Of((short)-1)));
        yield return ("test.uints", GgufValue.Array(GgufArray.Of(1u, 2u)));
        yield return ("test.ulongs", GgufValue.Array(GgufArray.Of(1UL)));
        yield return ("test.longs", GgufValue.Array(GgufArray.Of(-1L)));
        yield return ("test.doubles", GgufValue.Array(GgufArray.Of(0.5)));
        yield return ("test.empty_array", GgufValue.Array(GgufArray.Of(System.Array.Empty<int>())));
        yield return ("test.nested", GgufValue.Array(GgufArray.Of(GgufArray.Of("x", "y"), GgufArray.Of(1, 2, 3), GgufArray.Of(GgufArray.Of(true)))));
    }

    [Theory]
    [InlineData(32u)]
    [InlineData(64u)]
    [InlineData(1u)]
    public void Metadata_tensors_and_data_round_trip(uint alignment)
    {
        var bytes = Write(alignment, out var data);
        var file = RawGguf.Read(bytes);

        Assert.Equal(3u, file.Version);
        Assert.Equal(alignment, file.Alignment);
        foreach (var (key, value) in EveryValueType())
            Assert.Equal(value, file.Metadata[key]);
        Assert.Equal(alignment != 32, file.Metadata.ContainsKey("general.alignment"));

        Assert.Equal(["f32", "f16", "q8", "q4k", "i8.4d"], file.Tensors.Select(t => t.Name));
        Assert.Equal([3L, 1L, 2L, 2L], file.Tensors[4].Dimensions);
        Assert.Equal(GgmlType.Q4_K, file.Tensors[3].Type);
        Assert.Equal(144, file.Tensors[3].ByteSize);
        Assert.Equal(4 * 34, file.Tensors[2].ByteSize);
        Assert.Equal(0, file.DataOffset % alignment);
        foreach (var t in file.Tensors)
        {
            Assert.Equal(0, t.Offset % alignment);
            Assert.Equal(data[t.Name], bytes.AsSpan((int)(file.DataOffset + t.Offset), (int)t.ByteSize).ToArray());
        }
        Assert.Equal(15 + 7 + 128 + 256 + 12, file.ParameterCount);
    }

    [Fact]
    public void Writes_to_a_stream_that_cannot_seek()
    {
        using var inner = new MemoryStream();
        using (var w = new GgufWriter(new ForwardOnlyStream(inner), 64))
        {
            w.AddMetadata("general.name", "x");
            w.AddTensor("a", GgmlType.F32, 3);
            w.AddTensor("b", GgmlType.F32, 3);
            w.WriteHeader();
            w.WriteTensorData(new byte[12]);
            w.WriteTensorData(new byte[12]);
            w.Finish();
        }

        var file = RawGguf.Read(inner.ToArray());
        Assert.Equal([0L, 64L], file.Tensors.Select(t => t.Offset));
    }

    [Fact]
    public void Data_running_past_a_tensor_is_refused()
    {
        using var w = new GgufWriter(new MemoryStream());
        w.AddTensor("a", GgmlType.F32, 2);
        w.WriteHeader();
        Assert.Throws<InvalidOperationException>(() => w.WriteTensorData(new byte[9]));
    }

    [Fact]
    public void Finishing_before_every_tensor_is_written_is_refused()
    {
        using var w = new GgufWriter(new MemoryStream());
        w.AddTensor("a", GgmlType.F32, 2);
        w.WriteHeader();
        w.WriteTensorData(new byte[4]);
        var e = Assert.Throws<InvalidOperationException>(w.Finish);
        Assert.Contains("'a' has 4 of its 8 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Declarations_that_llama_cpp_would_refuse_are_refused()
    {
        using var w = new GgufWriter(new MemoryStream());
        w.AddMetadata("k", 1u);
        Assert.Throws<ArgumentException>(() => w.AddMetadata("k", 2u));
        Assert.Throws<ArgumentException>(() => w.AddMetadata("general.alignment", 64u));
        Assert.Throws<ArgumentException>(() => w.AddTensor("q", GgmlType.Q8_0, 16));
        Assert.Throws<ArgumentException>(() => w.AddTensor("z", GgmlType.F32, 0));
        Assert.Throws<ArgumentException>(() => w.AddTensor(new string('n', 64), GgmlType.F32, 1));
        Assert.Throws<ArgumentException>(() => w.AddTensor("5d", GgmlType.F32, 1, 1, 1, 1, 1));
        w.AddTensor("t", GgmlType.F32, 1);
        Assert.Throws<ArgumentException>(() => w.AddTensor("t", GgmlType.F32, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GgufWriter(new MemoryStream(), alignment: 48));
    }

    [Fact]
    public void Arrays_refuse_elements_of_the_wrong_type()
    {
        Assert.Throws<ArgumentException>(() => new GgufArray(GgufValueType.Int32, new uint[1]));
        Assert.Throws<ArgumentException>(() => new GgufArray(GgufValueType.String, new string[] { null! }));
        Assert.Throws<InvalidOperationException>(() => GgufArray.Of(1, 2).Get<uint>());
    }

    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
