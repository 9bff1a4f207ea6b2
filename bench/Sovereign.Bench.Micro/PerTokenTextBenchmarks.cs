using System.Text;
using BenchmarkDotNet.Attributes;
using Sovereign.Inference.Engine;

namespace Sovereign.Bench.Micro;

/// <summary>
/// What the engine loop does with every generated token before it leaves the runner: its bytes become text
/// (<see cref="Utf8Assembler"/>) and the text passes the stop-string matcher (<see cref="StopStringMatcher"/>). At
/// ~2,000 tokens/s on stories260K a token has 500 µs in all; these should cost well under 1 µs each.
/// Each operation is one 256-token generation, so the per-token cost is the mean ÷ 256.
/// </summary>
[MemoryDiagnoser]
public class PerTokenTextBenchmarks
{
    private const int Tokens = 256;
    private byte[][] _asciiPieces = [];
    private byte[][] _multiBytePieces = [];
    private string[] _textPieces = [];

    [GlobalSetup]
    public void Setup()
    {
        // Word-like ASCII pieces, as a llama vocabulary gives them (" the", " Lily", "ed", …).
        string[] words = [" the", " little", " girl", " named", " Lily", " went", " to", " the", " park", ".", " She", " saw", " a", " big", " dog", "ed"];
        _textPieces = [.. Enumerable.Range(0, Tokens).Select(i => words[i % words.Length])];
        _asciiPieces = [.. _textPieces.Select(Encoding.UTF8.GetBytes)];
        // Byte-level tokens of multi-byte characters (é, 世, 🙂) split across tokens, as byte-fallback vocabularies emit them.
        var text = string.Concat(Enumerable.Repeat("é世🙂", Tokens));
        var bytes = Encoding.UTF8.GetBytes(text);
        _multiBytePieces = [.. Enumerable.Range(0, Tokens).Select(i => bytes.AsSpan(i * 3, 3).ToArray())];
    }

    [Benchmark(Baseline = true, Description = "UTF-8 assembly, ASCII pieces")]
    public int Utf8Ascii()
    {
        var assembler = new Utf8Assembler();
        var chars = 0;
        foreach (var piece in _asciiPieces) chars += assembler.Append(piece).Length;
        return chars + assembler.Flush().Length;
    }

    [Benchmark(Description = "UTF-8 assembly, characters split across tokens")]
    public int Utf8Split()
    {
        var assembler = new Utf8Assembler();
        var chars = 0;
        foreach (var piece in _multiBytePieces) chars += assembler.Append(piece).Length;
        return chars + assembler.Flush().Length;
    }

    [Benchmark(Description = "stop strings: none")]
    public int StopNone() => Match([]);

    [Benchmark(Description = "stop strings: 2 that never match")]
    public int StopTwo() => Match(["\n\nUser:", "</s>"]);

    [Benchmark(Description = "stop strings: 16 that never match")]
    public int StopSixteen() => Match([.. Enumerable.Range(0, 16).Select(i => $"<|stop-{i}|>")]);

    [Benchmark(Description = "stop strings: 1 whose start keeps appearing (\" the end\")")]
    public int StopPartialMatches() => Match([" the end"]);

    private int Match(string[] stops)
    {
        var matcher = new StopStringMatcher(stops);
        var chars = 0;
        foreach (var piece in _textPieces) chars += matcher.Push(piece).Length;
        return chars + matcher.Flush().Length;
    }
}
