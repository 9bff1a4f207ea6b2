using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Runtime.InteropServices;
using System.Text;

namespace Sovereign.Models.Gguf;

/// <summary>
/// Reads and validates a GGUF v2/v3 header before llama.cpp ever opens the file, so that a bad file is refused
/// with one clear <see cref="GgufFormatException"/> instead of crashing or confusing the native loader. Streams the
/// header from disk and never touches the tensor data beyond checking where it lies. Stateless; thread-safe.
/// </summary>
public static class GgufReader
{
    /// <summary>Reads the header of the file at <paramref name="path"/>. I/O errors (missing file, permissions) are not caught.</summary>
    public static GgufFile Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Read(stream, Path.GetFileName(path));
    }

    /// <summary>Reads a header from a seekable stream holding the whole file, from its start; the stream is left open.</summary>
    /// <param name="fileName">Names the file in error messages.</param>
    public static GgufFile Read(Stream stream, string fileName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException("The GGUF reader needs a seekable stream to check tensor offsets against the file length.", nameof(stream));
        stream.Position = 0;
        return new Parser(stream, fileName).Parse();
    }

    private sealed class Parser(Stream stream, string fileName)
    {
        private const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32
        private const int MinKvBytes = 8 + 4 + 1; // key length, type, smallest value
        private const int MinTensorInfoBytes = 8 + 4 + 4 + 8; // name length, n_dims, type, offset

        private readonly BinaryReader _reader = new(stream, Encoding.UTF8, leaveOpen: true);
        private readonly long _length = stream.Length;
        private long _pos;
        private byte[] _scratch = new byte[256];

        // What is being read, for truncation messages: set per pair, tensor and dimension, never per array element.
        private string _section = "the header";

        public GgufFile Parse()
        {
            try
            {
                return ParseCore();
            }
            catch (EndOfStreamException e)
            {
                // Only when the file shrank while being read: every read is checked against the length first.
                throw new GgufFormatException(fileName, $"the file ended unexpectedly while reading {_section}", _pos, e);
            }
        }

        private GgufFile ParseCore()
        {
            if (_length < 4)
                Fail($"the file is only {_length} bytes long, too short to be a GGUF file");
            _section = "the GGUF magic";
            var magic = ReadU32();
            if (magic != Magic)
                Fail($"it does not start with the GGUF magic bytes \"GGUF\" (found {DescribeMagic(magic)})", 0);

            _section = "the format version";
            var version = ReadU32();
            if (version is 0x02000000 or 0x03000000)
                Fail("it is a big-endian GGUF file, which llama.cpp cannot load on this machine", 4);
            if (version is not (2 or 3))
                Fail($"GGUF version {version} is not supported (only versions 2 and 3 are)", 4);

            _section = "the tensor count";
            var tensorCountRaw = ReadU64();
            _section = "the metadata count";
            var kvCountRaw = ReadU64();
            var remaining = _length - _pos;
            if (tensorCountRaw > GgufLimits.MaxTensors)
                Fail($"the header claims {tensorCountRaw} tensors, more than the limit of {GgufLimits.MaxTensors}", 8);
            if (kvCountRaw > GgufLimits.MaxMetadataPairs)
                Fail($"the header claims {kvCountRaw} metadata pairs, more than the limit of {GgufLimits.MaxMetadataPairs}", 16);
            var tensorCount = (int)tensorCountRaw;
            var kvCount = (int)kvCountRaw;
            if ((long)tensorCount * MinTensorInfoBytes + (long)kvCount * MinKvBytes > remaining)
                Fail($"the header claims {kvCount} metadata pairs and {tensorCount} tensors, which cannot fit in the {remaining} bytes left in the file", 8);

            var metadata = new OrderedDictionary<string, GgufValue>(kvCount, StringComparer.Ordinal);
            for (var i = 0; i < kvCount; i++)
            {
                var at = _pos;
                _section = $"the key of metadata pair {i}";
                var key = ReadString(GgufLimits.MaxKeyBytes, $"key of metadata pair {i}");
                if (key.Length == 0) Fail($"metadata pair {i} has an empty key", at);
                if (metadata.ContainsKey(key)) Fail($"metadata key '{key}' appears more than once", at);
                _section = $"the type of metadata key '{key}'";
                var typeAt = _pos;
                var type = (GgufValueType)ReadU32();
                if (!GgufValueTypes.IsKnown(type)) Fail($"metadata key '{key}' has unknown value type {(uint)type}", typeAt);
                _section = $"the value of metadata key '{key}'";
                metadata.Add(key, ReadValue(type, key, depth: 0));
            }

            var alignment = GgufFile.DefaultAlignment;
            if (metadata.TryGetValue("general.alignment", out var alignValue))
            {
                // The format says uint32 and llama.cpp refuses any other type, so a u64 here is no alignment at all.
                if (alignValue.Value is not uint a)
                    Fail($"general.alignment must be a uint32, not a {GgufValueTypes.Name(alignValue.Type)}");
                else if (a == 0 || (a & (a - 1)) != 0)
                    Fail($"general.alignment is {a}, which is not a power of two");
                else
                    alignment = a;
            }

            var tensors = new List<GgufTensorInfo>(tensorCount);
            var names = new HashSet<string>(tensorCount, StringComparer.Ordinal);
            for (var i = 0; i < tensorCount; i++)
            {
                var tensor = ReadTensorInfo(i, alignment);
                if (!names.Add(tensor.Name)) Fail($"tensor '{tensor.Name}' appears more than once");
                tensors.Add(tensor);
            }

            var headerEnd = _pos;
            var dataOffset = headerEnd + (alignment - headerEnd % alignment) % alignment;
            CheckTensorPlacement(tensors, dataOffset);
            return new GgufFile(fileName, version, _length, new ReadOnlyDictionary<string, GgufValue>(metadata), tensors.AsReadOnly(), alignment, dataOffset);
        }

        private GgufTensorInfo ReadTensorInfo(int index, uint alignment)
        {
            _section = $"the name of tensor {index}";
            var name = ReadString(GgufLimits.MaxTensorNameBytes, $"name of tensor {index}");
            var label = $"tensor '{name}'";

            _section = $"the dimension count of {label}";
            var nDimsAt = _pos;
            var nDims = ReadU32();
            if (nDims > GgufLimits.MaxDimensions)
                Fail($"{label} has {nDims} dimensions; ggml supports at most {GgufLimits.MaxDimensions}", nDimsAt);

            var dims = new long[nDims];
            long elements = 1;
            for (var d = 0; d < nDims; d++)
            {
                _section = $"dimension {d} of {label}";
                var dimAt = _pos;
                var dim = ReadU64();
                if (dim == 0) Fail($"{label} has dimension {d} of size 0", dimAt);
                if (dim > long.MaxValue || elements > long.MaxValue / (long)dim)
                    Fail($"{label} has dimensions whose product overflows a 64-bit count (dimension {d} is {dim})", dimAt);
                dims[d] = (long)dim;
                elements *= (long)dim;
            }

            _section = $"the type of {label}";
            var typeAt = _pos;
            var type = (GgmlType)ReadU32();
            if (!GgmlTypes.IsKnown(type)) Fail($"{label} has unknown tensor type {(uint)type}", typeAt);
            var block = GgmlTypes.BlockSize(type);
            if (nDims > 0 && dims[0] % block != 0)
                Fail($"{label} has rows of {dims[0]} elements, not a multiple of the {type} block size {block}", typeAt);
            if (elements % block != 0)
                Fail($"{label} has {elements} elements, not a multiple of the {type} block size {block}", typeAt);
            if (elements / block > long.MaxValue / GgmlTypes.TypeSize(type))
                Fail($"{label} is too large: its byte size overflows a 64-bit count", typeAt);

            _section = $"the data offset of {label}";
            var offsetAt = _pos;
            var offset = ReadU64();
            if (offset > long.MaxValue) Fail($"{label} has data offset {offset}, beyond any file", offsetAt);
            if (offset % alignment != 0)
                Fail($"{label} has data offset {offset}, which is not a multiple of the alignment {alignment}", offsetAt);
            return new GgufTensorInfo(name, dims, type, (long)offset);
        }

        private void CheckTensorPlacement(List<GgufTensorInfo> tensors, long dataOffset)
        {
            if (tensors.Count > 0 && dataOffset > _length)
                Fail($"the tensor data should start at byte {dataOffset} but the file is only {_length} bytes");
            foreach (var t in tensors)
            {
                var size = t.ByteSize;
                var start = dataOffset + t.Offset; // both ≤ long.MaxValue, so at worst this wraps negative
                if (start < 0 || start > _length || size > _length - start)
                    Fail($"tensor '{t.Name}' data (file offset {(ulong)dataOffset + (ulong)t.Offset}, {size} bytes) ends past the end of the file ({_length} bytes)");
            }

            // Sorting a copy by offset makes the overlap check linear rather than quadratic.
            var byOffset = tensors.OrderBy(t => t.Offset).ToList();
            for (var i = 1; i < byOffset.Count; i++)
            {
                var prev = byOffset[i - 1];
                var cur = byOffset[i];
                if (prev.Offset + prev.ByteSize > cur.Offset)
                    Fail($"tensor '{prev.Name}' data (offset {prev.Offset}, {prev.ByteSize} bytes) overlaps tensor '{cur.Name}' (offset {cur.Offset})");
            }
        }

        private GgufValue ReadValue(GgufValueType type, string key, int depth) => type switch
        {
            GgufValueType.UInt8 => GgufValue.UInt8(ReadBytes(1)[0]),
            GgufValueType.Int8 => GgufValue.Int8((sbyte)ReadBytes(1)[0]),
            GgufValueType.UInt16 => GgufValue.UInt16(ReadU16()),
            GgufValueType.Int16 => GgufValue.Int16((short)ReadU16()),
            GgufValueType.UInt32 => GgufValue.UInt32(ReadU32()),
            GgufValueType.Int32 => GgufValue.Int32((int)ReadU32()),
            GgufValueType.Float32 => GgufValue.Float32(BitConverter.UInt32BitsToSingle(ReadU32())),
            GgufValueType.Bool => GgufValue.Bool(ReadBytes(1)[0] != 0),
            GgufValueType.String => GgufValue.String(ReadString(GgufLimits.MaxStringValueBytes, $"value of metadata key '{key}'")),
            GgufValueType.UInt64 => GgufValue.UInt64(ReadU64()),
            GgufValueType.Int64 => GgufValue.Int64((long)ReadU64()),
            GgufValueType.Float64 => GgufValue.Float64(BitConverter.UInt64BitsToDouble(ReadU64())),
            GgufValueType.Array => GgufValue.Array(ReadArray(key, depth)),
            _ => throw new InvalidOperationException($"Unchecked GGUF value type {type}."),
        };

        private GgufArray ReadArray(string key, int depth)
        {
            var at = _pos;
            if (depth >= GgufLimits.MaxArrayDepth)
                Fail($"metadata key '{key}' nests arrays more than {GgufLimits.MaxArrayDepth} deep", at);
            var elementType = (GgufValueType)ReadU32();
            if (!GgufValueTypes.IsKnown(elementType))
                Fail($"metadata key '{key}' is an array of unknown value type {(uint)elementType}", at);
            var countAt = _pos;
            var countRaw = ReadU64();
            var minSize = GgufValueTypes.MinSize(elementType);
            var remaining = _length - _pos;
            if (countRaw > GgufLimits.MaxArrayLength)
                Fail($"metadata key '{key}' is an array of {countRaw} elements, more than the limit of {GgufLimits.MaxArrayLength}", countAt);
            var count = (int)countRaw;
            if ((long)count * minSize > remaining)
                Fail($"metadata key '{key}' is an array of {count} {GgufValueTypes.Name(elementType)} elements, which needs at least {(long)count * minSize} bytes but only {remaining} remain in the file", countAt);
            CheckHeaderBudget((long)count * minSize, countAt);

            switch (elementType)
            {
                case GgufValueType.UInt8: return new(elementType, ReadPrimitives<byte>(count));
                case GgufValueType.Int8: return new(elementType, ReadPrimitives<sbyte>(count));
                case GgufValueType.UInt16: return new(elementType, ReadPrimitives<ushort>(count));
                case GgufValueType.Int16: return new(elementType, ReadPrimitives<short>(count));
                case GgufValueType.UInt32: return new(elementType, ReadPrimitives<uint>(count));
                case GgufValueType.Int32: return new(elementType, ReadPrimitives<int>(count));
                case GgufValueType.Float32: return new(elementType, ReadPrimitives<float>(count));
                case GgufValueType.UInt64: return new(elementType, ReadPrimitives<ulong>(count));
                case GgufValueType.Int64: return new(elementType, ReadPrimitives<long>(count));
                case GgufValueType.Float64: return new(elementType, ReadPrimitives<double>(count));
                case GgufValueType.Bool:
                    var raw = ReadPrimitives<byte>(count);
                    var bools = new bool[count];
                    for (var i = 0; i < count; i++) bools[i] = raw[i] != 0;
                    return new(elementType, bools);
                case GgufValueType.String:
                    var strings = new string[count];
                    var what = $"metadata key '{key}'";
                    for (var i = 0; i < count; i++)
                        strings[i] = ReadString(GgufLimits.MaxStringValueBytes, what, i);
                    return new(elementType, strings);
                case GgufValueType.Array:
                    var arrays = new GgufArray[count];
                    for (var i = 0; i < count; i++) arrays[i] = ReadArray(key, depth + 1);
                    return new(elementType, arrays);
                default:
                    throw new InvalidOperationException($"Unchecked GGUF value type {elementType}.");
            }
        }

        private T[] ReadPrimitives<T>(int count) where T : unmanaged
        {
            var items = new T[count];
            var bytes = MemoryMarshal.AsBytes(items.AsSpan());
            Need(bytes.Length);
            stream.ReadExactly(bytes);
            _pos += bytes.Length;
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("GGUF arrays are read as little-endian memory.");
            return items;
        }

        /// <param name="what">Names the string in messages; formatted only on failure, since token arrays hold 100k+ strings.</param>
        /// <param name="element">The element's index when the string is in an array named by <paramref name="what"/>.</param>
        private string ReadString(int maxBytes, string what, int element = -1)
        {
            var at = _pos;
            var lengthRaw = ReadU64();
            if (lengthRaw > (ulong)maxBytes)
                Fail($"{Describe(what, element)} is {lengthRaw} bytes long, more than the limit of {maxBytes}", at);
            var length = (int)lengthRaw;
            if (length > _length - _pos)
                Fail($"{Describe(what, element)} is {length} bytes long but only {_length - _pos} bytes remain in the file", at);
            CheckHeaderBudget(length, at);
            if (_scratch.Length < length) _scratch = new byte[Math.Max(length, _scratch.Length * 2)];
            var span = _scratch.AsSpan(0, length);
            stream.ReadExactly(span);
            _pos += length;
            return Encoding.UTF8.GetString(span);
        }

        private static string Describe(string what, int element) => element < 0 ? $"the {what}" : $"element {element} of {what}";

        private ushort ReadU16()
        {
            Need(2);
            _pos += 2;
            return _reader.ReadUInt16();
        }

        private uint ReadU32()
        {
            Need(4);
            _pos += 4;
            return _reader.ReadUInt32();
        }

        private ulong ReadU64()
        {
            Need(8);
            _pos += 8;
            return _reader.ReadUInt64();
        }

        private ReadOnlySpan<byte> ReadBytes(int n)
        {
            Need(n);
            var span = _scratch.AsSpan(0, n);
            stream.ReadExactly(span);
            _pos += n;
            return span;
        }

        private void Need(long n)
        {
            if (_length - _pos < n)
                Fail($"the file is truncated: it ends at byte {_length}, inside {_section}", _pos);
        }

        private void CheckHeaderBudget(long bytes, long at)
        {
            if (_pos + bytes > GgufLimits.MaxHeaderBytes)
                Fail($"the metadata is larger than the limit of {GgufLimits.MaxHeaderBytes} bytes", at);
        }

        private static string DescribeMagic(uint magic)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, magic);
            var printable = b.ToArray().All(c => c is >= 0x20 and < 0x7f);
            return printable ? $"\"{Encoding.ASCII.GetString(b)}\"" : Convert.ToHexString(b);
        }

        [System.Diagnostics.CodeAnalysis.DoesNotReturn]
        private void Fail(string problem, long? offset = null) => throw new GgufFormatException(fileName, problem, offset);
    }
}
