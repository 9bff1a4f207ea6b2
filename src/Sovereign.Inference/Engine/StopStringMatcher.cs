using System.Text;

namespace Sovereign.Inference.Engine;

/// <summary>
/// Keeps stop strings out of a text stream that arrives in pieces. Text that could still turn out to be the start of
/// a stop string is held back; when a stop string completes, only the text before it is released and the matcher
/// stops accepting input. At the end of a stream that did not stop, <see cref="Flush"/> releases what was held back.
/// Matching is ordinal (exact characters). One instance per stream; not thread-safe.
/// </summary>
internal sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private readonly int _longest;
    private readonly StringBuilder _held = new();
    private char[] _scratch = [];

    public StopStringMatcher(IReadOnlyList<string> stops)
    {
        ArgumentNullException.ThrowIfNull(stops);
        foreach (var s in stops)
        {
            if (string.IsNullOrEmpty(s))
                throw new ArgumentException("Stop strings must not be empty.", nameof(stops));
        }
        _stops = [.. stops.Distinct(StringComparer.Ordinal)];
        _longest = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length);
    }

    /// <summary>True once a stop string has appeared; the stream should finish with reason Stop.</summary>
    public bool Matched { get; private set; }

    /// <summary>Characters currently held back (a possible start of a stop string).</summary>
    public int HeldLength => _held.Length;

    /// <summary>Adds the next piece of text and returns the text that is now safe to emit (possibly empty).</summary>
    public string Push(ReadOnlySpan<char> text)
    {
        if (Matched || text.IsEmpty)
            return "";
        if (_stops.Length == 0)
            return new string(text);

        // The held text never contains a whole stop string, so working on held + new is enough.
        _held.Append(text);
        var length = _held.Length;
        if (_scratch.Length < length)
            _scratch = new char[Math.Max(length, _scratch.Length * 2)];
        _held.CopyTo(0, _scratch, length);
        var pending = _scratch.AsSpan(0, length);

        var first = -1;
        foreach (var stop in _stops)
        {
            var at = pending.IndexOf(stop.AsSpan(), StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
                first = at;
        }
        if (first >= 0)
        {
            Matched = true;
            _held.Clear();
            return new string(pending[..first]);
        }

        var keep = LongestStopPrefixSuffix(pending);
        _held.Clear();
        _held.Append(pending[(length - keep)..]);
        return keep == length ? "" : new string(pending[..(length - keep)]);
    }

    /// <summary>Releases the held-back text at the end of a stream that did not stop; empty after a match.</summary>
    public string Flush()
    {
        if (Matched)
            return "";
        var rest = _held.ToString();
        _held.Clear();
        return rest;
    }

    /// <summary>Length of the longest suffix of <paramref name="text"/> that is a proper prefix of some stop string.</summary>
    private int LongestStopPrefixSuffix(ReadOnlySpan<char> text)
    {
        for (var k = Math.Min(text.Length, _longest - 1); k > 0; k--)
        {
            var suffix = text[^k..];
            foreach (var stop in _stops)
            {
                if (stop.Length > k && stop.AsSpan().StartsWith(suffix, StringComparison.Ordinal))
                    return k;
            }
        }
        return 0;
    }
}
