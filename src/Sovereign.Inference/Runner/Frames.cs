using System.Buffers.Binary;
using System.Net.Sockets;
using Google.Protobuf;

namespace Sovereign.Inference.Runner;

/// <summary>
/// The framing of the runner's generation socket: each message is a 4-byte little-endian length, then the message.
/// </summary>
internal static class Frames
{
    /// <summary>The largest frame either side accepts (a request with images can be large).</summary>
    public const int MaxLength = 64 * 1024 * 1024;

    public static byte[] Of(IMessage message)
    {
        var frame = Array.Empty<byte>();
        var end = 0;
        Append(message, ref frame, ref end);
        return frame;
    }

    /// <summary>Appends the frame of <paramref name="message"/> at <paramref name="end"/>, growing the buffer in place.</summary>
    public static void Append(IMessage message, ref byte[] buffer, ref int end)
    {
        var size = message.CalculateSize();
        if (buffer.Length < end + 4 + size)
            // Resize keeps every byte at its offset, so a send still reading the old array sends the same bytes.
            Array.Resize(ref buffer, Math.Max(buffer.Length * 2, end + 4 + size));
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(end), size);
        message.WriteTo(buffer.AsSpan(end + 4, size));
        end += 4 + size;
    }

    /// <summary>Sends all of <paramref name="bytes"/>, blocking: for a socket that must never see an async call.</summary>
    public static void Send(Socket socket, ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0) bytes = bytes[socket.Send(bytes, SocketFlags.None)..];
    }
}

/// <summary>Reads frames from a socket through one buffer. Not thread-safe: one reader at a time.</summary>
internal sealed class FrameReader(Socket socket)
{
    private byte[] _buffer = new byte[4096];
    private int _start;
    private int _end;

    /// <summary>Takes a frame that has already arrived; never waits.</summary>
    /// <exception cref="InvalidDataException">A frame length out of bounds.</exception>
    public bool TryReadBuffered<T>(MessageParser<T> parser, out T message) where T : IMessage<T>
    {
        message = default!;
        if (_end - _start < 4) return false;
        var length = LengthAtStart();
        if (_end - _start - 4 < length) return false;
        message = parser.ParseFrom(_buffer.AsSpan(_start + 4, length));
        _start += 4 + length;
        if (_start == _end) _start = _end = 0;
        return true;
    }

    /// <summary>
    /// The next frame, blocking: both ends keep their sockets synchronous (see <see cref="Hosting.RunnerEventStream"/>).
    /// Null when the peer closed the connection between frames.
    /// </summary>
    /// <exception cref="EndOfStreamException">The connection closed in the middle of a frame.</exception>
    public T? Read<T>(MessageParser<T> parser) where T : class, IMessage<T>
    {
        T? message;
        while (!TryReadBuffered(parser, out message))
        {
            MakeRoom();
            if (!Received(socket.Receive(_buffer.AsSpan(_end), SocketFlags.None))) return null;
        }
        return message;
    }

    /// <summary>Counts <paramref name="bytes"/> received; false when the peer closed between frames.</summary>
    /// <exception cref="EndOfStreamException">The peer closed in the middle of a frame.</exception>
    private bool Received(int bytes)
    {
        if (bytes == 0)
        {
            if (_end == _start) return false;
            throw new EndOfStreamException("The connection closed in the middle of a frame.");
        }
        _end += bytes;
        return true;
    }

    private int LengthAtStart()
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(_start));
        if (length is < 0 or > Frames.MaxLength) throw new InvalidDataException($"A frame of {length} bytes is out of bounds.");
        return length;
    }

    /// <summary>Moves what is buffered to the front, and grows the buffer when the frame under way needs more.</summary>
    private void MakeRoom()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        var needed = _end >= 4 ? 4 + LengthAtStart() : 4;
        if (_buffer.Length < needed || _end == _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
    }
}
