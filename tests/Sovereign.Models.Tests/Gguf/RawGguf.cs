using System.Text;
using Sovereign.Models.Gguf;

namespace Sovereign.Models.Tests.Gguf;

/// <summary>
/// Writes GGUF bytes field by field with no checks at all, so tests can build exactly the malformed file they need.
/// </summary>
internal sealed class RawGguf
{
    private readonly MemoryStream _stream = new();
    private readonly BinaryWriter _w;

    public RawGguf() => _w = new BinaryWriter(_stream, Encoding.UTF8, leaveOpen: true);

    public long Position => _stream.Position;

    public static RawGguf Start(ulong tensors, ulong kvs, uint version = 3) =>
        new RawGguf().Bytes("GGUF"u8.ToArray()).U32(version).U64(tensors).U64(kvs);

    public RawGguf Bytes(byte[] bytes)
    {
        _w.Write(bytes);
        return this;
    }

    public RawGguf Zeros(int count) => Bytes(new byte[count]);

    public RawGguf U8(byte v) { _w.Write(v); return this; }
    public RawGguf U32(uint v) { _w.Write(v); return this; }
    public RawGguf U64(ulong v) { _w.Write(v); return this; }
    public RawGguf F32(float v) { _w.Write(v); return this; }

    public RawGguf Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return U64((ulong)b.Length).Bytes(b);
    }

    public RawGguf Kv(string key, GgufValueType type) => Str(key).U32((uint)type);

    public RawGguf KvString(string key, string value) => Kv(key, GgufValueType.String).Str(value);

    public RawGguf KvU32(string key, uint value) => Kv(key, GgufValueType.UInt32).U32(value);

    public RawGguf Tensor(string name, GgmlType type, ulong offset, params ulong[] dims)
    {
        Str(name).U32((uint)dims.Length);
        foreach (var d in dims) U64(d);
        return U32((uint)type).U64(offset);
    }

    public RawGguf AlignTo(int alignment)
    {
        while (_stream.Position % alignment != 0) _w.Write((byte)0);
        return this;
    }

    public byte[] ToArray() => _stream.ToArray();

    public GgufFile Parse() => Read(ToArray());

    public static GgufFile Read(byte[] bytes) => GgufReader.Read(new MemoryStream(bytes, writable: false), "test.gguf");
}
