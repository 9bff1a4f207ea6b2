using System.Text;

namespace Sovereign.Inference.Engine;

/// <summary>
/// Turns the bytes of successive tokens into text without ever splitting a character: bytes that start a multi-byte
/// UTF-8 character are held back until the character is complete. Invalid byte sequences become U+FFFD (never an
/// exception); bytes still incomplete at <see cref="Flush"/> become one U+FFFD. One instance per stream; not thread-safe.
/// </summary>
internal sealed class Utf8Assembler
{
    // Replacement fallback (the UTF8Encoding default with throwOnInvalidBytes: false): bad bytes → U+FFFD.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly Decoder _decoder = Utf8.GetDecoder();
    private char[] _chars = new char[64];

    /// <summary>
    /// Adds the bytes of one token and returns the characters completed by them (possibly none). The span is valid until
    /// the next call.
    /// </summary>
    public ReadOnlySpan<char> Append(ReadOnlySpan<byte> bytes) => Convert(bytes, flush: false);

    /// <summary>Ends the stream: bytes of an unfinished character come out as U+FFFD.</summary>
    public ReadOnlySpan<char> Flush() => Convert([], flush: true);

    private ReadOnlySpan<char> Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        var needed = _decoder.GetCharCount(bytes, flush);
        if (needed > _chars.Length)
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        var written = _decoder.GetChars(bytes, _chars, flush);
        return _chars.AsSpan(0, written);
    }
}
