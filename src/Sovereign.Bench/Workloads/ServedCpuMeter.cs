using Sovereign.Bench.Machine;
using Sovereign.Bench.Reporting;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Workloads;

/// <summary>
/// Where the CPU goes while one stream is served: the CPU time the server, the model's runner (its llama.cpp threads
/// apart from the rest) and this benchmark process used while each measured served run decoded, from its first piece of
/// text to its end, summed and divided by the tokens generated after the first. The request's set-up and its prompt's
/// prefill are left out: they are paid once per request, and would otherwise be spread over the tokens as if each cost
/// them. On a machine whose cores all decode, every millisecond outside llama.cpp is taken from it, so this says which
/// layer the serving overhead lives in. Not thread-safe: one served run at a time.
/// </summary>
internal sealed class ServedCpuMeter(int serverProcessId, int? runnerProcessId)
{
    /// <summary>The name of the engine's thread (15 characters kept), inherited by llama.cpp's OpenMP workers.</summary>
    private const string DecodeThreads = "sovereign-engin";

    private long _server, _runnerDecode, _runnerOther, _client;
    private int _tokens, _runs;
    private bool _unreadable;

    /// <summary>
    /// Runs <paramref name="run"/>, handing it the callback to call as each piece of text arrives (on the first, the
    /// counters are read), and adds what the decode cost, when it succeeded.
    /// </summary>
    public async Task<StreamTrace> MeasureAsync(Func<Action<double>, Task<StreamTrace>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        (long Server, long Runner, long RunnerDecode, long Client)? before = null;
        var first = true;
        var trace = await run(_ =>
        {
            if (!first) return;
            first = false;
            before = Read();
        }).ConfigureAwait(false);
        var after = Read();
        if (trace.Succeeded && trace.CompletionTokens is > 1 and var tokens && !first)
        {
            if (before is { } b && after is { } a)
            {
                _server += a.Server - b.Server;
                _runnerDecode += a.RunnerDecode - b.RunnerDecode;
                _runnerOther += (a.Runner - b.Runner) - (a.RunnerDecode - b.RunnerDecode);
                _client += a.Client - b.Client;
                _tokens += tokens - 1;
                _runs++;
            }
            else
            {
                _unreadable = true;
            }
        }
        return trace;
    }

    /// <summary>The sums so far as milliseconds per token; null when nothing could be measured (no runner, not Linux).</summary>
    public ServedCpuCost? Result() => _runs == 0 || _unreadable ? null : new ServedCpuCost
    {
        Runs = _runs,
        Tokens = _tokens,
        ServerMsPerToken = PerToken(_server),
        RunnerDecodeMsPerToken = PerToken(_runnerDecode),
        RunnerOtherMsPerToken = PerToken(_runnerOther),
        BenchClientMsPerToken = PerToken(_client),
    };

    private double PerToken(long ticks) => ticks * ProcessCpu.TickMs / _tokens;

    private (long Server, long Runner, long RunnerDecode, long Client)? Read()
    {
        if (runnerProcessId is not { } runner) return null;
        var server = ProcessCpu.Ticks(serverProcessId);
        var total = ProcessCpu.Ticks(runner);
        var decode = ProcessCpu.ThreadTicks(runner, DecodeThreads);
        var client = ProcessCpu.Ticks(Environment.ProcessId);
        return server is { } s && total is { } t && decode is { } d && client is { } c ? (s, t, d, c) : null;
    }
}
