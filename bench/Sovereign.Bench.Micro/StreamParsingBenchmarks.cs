using BenchmarkDotNet.Attributes;
using Sovereign.Bench.Driver;

namespace Sovereign.Bench.Micro;

/// <summary>
/// The benchmark client's own cost per streamed token (parsing one server-sent event), which `sov bench` pays on the
/// same CPUs as the server it measures: it must stay small beside a token's time.
/// </summary>
[MemoryDiagnoser]
public class StreamParsingBenchmarks
{
    private const string TextChunk = """{"id":"cmpl-abcdefghijklmnopqrstuvwxyzABC","object":"text_completion","created":1764280000,"model":"stories:latest","system_fingerprint":"fp_270cba1bd510","choices":[{"text":" Lily","index":0,"logprobs":null,"finish_reason":null}],"usage":null}""";

    [Benchmark(Description = "parse one text_completion chunk")]
    public bool ParseChunk() => SseChunk.Parse(TextChunk).HasText;
}
