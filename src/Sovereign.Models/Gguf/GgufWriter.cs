using System.Text;

namespace Sovereign.Models.Gguf;

/// <summary>
/// Writes a GGUF v3 file as a stream: declare metadata and tensors, call <see cref="WriteHeader"/>, then write each
/// tensor's bytes in declaration order with <see cref="WriteTensorData"/> (in as many pieces as convenient), then
/// <see cref="Finish"/>. Offsets and alignment padding are computed here, so tensors of any size can be written
/// without holding them in memory. Not thread-safe: one writer per thread.
/// </summary>
public sealed class GgufWriter : IDisposable
{
    public const uint Version = 3;

    private readonly Stream _output;
    private readonly CountingStream _counted;
    private readonly bool _leaveOpen;
    private readonly BinaryWriter _writer;
    private readonly OrderedDictionary<string, GgufValue> _metadata = new(StringComparer.Ordinal);
    private readonly List<GgufTensorInfo> _tensors = [];
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);
    private long _nextOffset;
    private State _state = State.Declaring;
    private int _currentTensor;
    private long _currentWritten;

    private enum State { Declaring, WritingData, Finished }

    /// <param name="output">Where the file goes; written from its current position.</param>
    /// <param name="alignment">Tensor data alignment, a power of two; other than 32 it is recorded as general.alignment.</param>
    /// <param name="leaveOpen">Whether disposing the writer leaves <paramref name="output"/> open.</param>
    public GgufWriter(Stream output, uint alignment = GgufFile.DefaultAlignment, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "Alignment must be a power of two.");
        _output = output;
        _leaveOpen = leaveOpen;
        _counted = new CountingStream(output);
        _writer = new BinaryWriter(_counted, Encoding.UTF8, leaveOpen: true);
        Alignment = alignment;
        if (alignment != GgufFile.DefaultAlignment) _metadata.Add("general.alignment", GgufValue.UInt32(alignment));
    }

    public uint Alignment { get; }

    /// <summary>Tensors declared so far, with the data offsets they will be written at.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors => _tensors;

    public void AddMetadata(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        RequireState(State.Declaring);
        if (Encoding.UTF8.GetByteCount(key) > GgufLimits.MaxKeyBytes)
            throw new ArgumentException($"Metadata key is longer than {GgufLimits.MaxKeyBytes} bytes.", nameof(key));
        if (key == "general.alignment")
        {
            if (value.Value is not uint a || a != Alignment)
                throw new ArgumentException($"general.alignment is set from the writer's alignment ({Alignment}); pass it to the constructor instead.", nameof(value));
            return;
        }
        if (!_metadata.TryAdd(key, value))
            throw new ArgumentException($"Metadata key '{key}' was already added.", nameof(key));
    }

    public void AddMetadata(string key, string value) => AddMetadata(key, GgufValue.String(value));

    public void AddMetadata(string key, uint value) => AddMetadata(key, GgufValue.UInt32(value));

    public void AddMetadata(string key, float value) => AddMetadata(key, GgufValue.Float32(value));

    public void AddMetadata(string key, bool value) => AddMetadata(key, GgufValue.Bool(value));

    public void AddMetadata(string key, GgufArray value) => AddMetadata(key, GgufValue.Array(value));

    /// <summary>Declares a tensor; dimensions are ggml order (ne0 first). Returns its entry, offset included.</summary>
    public GgufTensorInfo AddTensor(string name, GgmlType type, params long[] dimensions)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dimensions);
        RequireState(State.Declaring);
        if (Encoding.UTF8.GetByteCount(name) > GgufLimits.MaxTensorNameBytes)
            throw new ArgumentException($"Tensor name '{name}' is longer than {GgufLimits.MaxTensorNameBytes} bytes.", nameof(name));
        if (!GgmlTypes.IsKnown(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown ggml type.");
        if (dimensions.Length is 0 or > GgufLimits.MaxDimensions)
            throw new ArgumentException($"A tensor has 1 to {GgufLimits.MaxDimensions} dimensions.", nameof(dimensions));
        if (dimensions.Any(d => d <= 0)) throw new ArgumentException("Tensor dimensions must be positive.", nameof(dimensions));
        if (dimensions[0] % GgmlTypes.BlockSize(type) != 0)
            throw new ArgumentException($"ne0 ({dimensions[0]}) must be a multiple of the {type} block size {GgmlTypes.BlockSize(type)}.", nameof(dimensions));
        if (_tensorNames.Contains(name)) throw new ArgumentException($"Tensor '{name}' was already added.", nameof(name));

        var tensor = new GgufTensorInfo(name, (long[])dimensions.Clone(), type, _nextOffset);
        _nextOffset = checked(_nextOffset + Pad(tensor.ByteSize));
        _tensorNames.Add(name);
        _tensors.Add(tensor);
        return tensor;
    }

    /// <summary>Writes the header, metadata, tensor table and the padding before the data section.</summary>
    public void WriteHeader()
    {
        RequireState(State.Declaring);
        _writer.Write("GGUF"u8);
        _writer.Write(Version);
        _writer.Write((ulong)_tensors.Count);
        _writer.Write((ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(key);
            _writer.Write((uint)value.Type);
            WriteValue(value.Value);
        }
        foreach (var t in _tensors)
        {
            WriteString(t.Name);
            _writer.Write((uint)t.Dimensions.Count);
            foreach (var d in t.Dimensions) _writer.Write((ulong)d);
            _writer.Write((uint)t.Type);
            _writer.Write((ulong)t.Offset);
        }
        WritePadding();
        _state = State.WritingData;
        AdvancePastEmptyTensors();
    }

    /// <summary>
    /// Appends bytes of the current tensor (the first declared one not yet complete). A piece may not run past the end
    /// of the tensor; once a tensor is complete its padding is written and the next one begins.
    /// </summary>
    public void WriteTensorData(ReadOnlySpan<byte> data)
    {
        RequireState(State.WritingData);
        while (!data.IsEmpty)
        {
            if (_currentTensor >= _tensors.Count)
                throw new InvalidOperationException("All declared tensors have been written; there is no tensor for more data.");
            var tensor = _tensors[_currentTensor];
            var left = tensor.ByteSize - _currentWritten;
            if (data.Length > left)
                throw new InvalidOperationException($"Tensor '{tensor.Name}' takes {tensor.ByteSize} bytes; {data.Length} more bytes would run past its end.");
            _writer.Write(data);
            _currentWritten += data.Length;
            data = default;
            AdvancePastEmptyTensors();
        }
    }

    /// <summary>Checks every tensor was written in full and flushes.</summary>
    public void Finish()
    {
        RequireState(State.WritingData);
        if (_currentTensor < _tensors.Count)
            throw new InvalidOperationException($"Tensor '{_tensors[_currentTensor].Name}' has {_currentWritten} of its {_tensors[_currentTensor].ByteSize} bytes written.");
        _writer.Flush();
        _state = State.Finished;
    }

    public void Dispose()
    {
        _writer.Dispose();
        if (!_leaveOpen) _output.Dispose();
    }

    private void AdvancePastEmptyTensors()
    {
        while (_currentTensor < _tensors.Count && _currentWritten == _tensors[_currentTensor].ByteSize)
        {
            WritePadding();
            _currentTensor++;
            _currentWritten = 0;
        }
    }

    private long Pad(long size) => (size + Alignment - 1) / Alignment * Alignment;

    // Offsets count from the first byte this writer wrote, which is the start of the file.
    private void WritePadding()
    {
        // BinaryWriter does not buffer, so the count is current.
        var written = _counted.Written;
        Span<byte> zeros = stackalloc byte[256];
        zeros.Clear();
        for (var pad = Pad(written) - written; pad > 0; pad -= Math.Min(pad, zeros.Length))
            _writer.Write(zeros[..(int)Math.Min(pad, zeros.Length)]);
    }

    private void WriteString(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        _writer.Write((ulong)bytes.Length);
        _writer.Write(bytes);
    }

    private void WriteValue(object value)
    {
        switch (value)
        {
            case byte v: _writer.Write(v); break;
            case sbyte v: _writer.Write(v); break;
            case ushort v: _writer.Write(v); break;
            case short v: _writer.Write(v); break;
            case uint v: _writer.Write(v); break;
            case int v: _writer.Write(v); break;
            case float v: _writer.Write(v); break;
            case bool v: _writer.Write(v); break;
            case ulong v: _writer.Write(v); break;
            case long v: _writer.Write(v); break;
            case double v: _writer.Write(v); break;
            case string v: WriteString(v); break;
            case GgufArray a:
                _writer.Write((uint)a.ElementType);
                _writer.Write((ulong)a.Count);
                foreach (var item in a.Items) WriteValue(item);
                break;
            default: throw new InvalidOperationException($"Cannot write a {value.GetType().Name} as a GGUF value.");
        }
    }

    private void RequireState(State expected)
    {
        if (_state != expected)
            throw new InvalidOperationException(expected switch
            {
                State.Declaring => "Metadata and tensors must be added before WriteHeader.",
                State.WritingData => _state == State.Declaring ? "Call WriteHeader before writing tensor data." : "The file is already finished.",
                _ => "The file is already finished.",
            });
    }

    /// <summary>Counts bytes on their way out, so padding works on streams that cannot tell their position.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Written { get; private set; }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Written; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Written += buffer.Length;
        }

        public override void WriteByte(byte value)
        {
            inner.WriteByte(value);
            Written++;
        }

        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
