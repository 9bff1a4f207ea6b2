using LLama.Native;
using Sovereign.Bench.Driver;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Raw;

/// <summary>
/// The yardstick: one model driven by LLamaSharp in this process, the plainest way there is: one context, one
/// sequence, the prompt decoded, then one token per llama_decode with llama.cpp's greedy sampler and the token turned
/// into bytes, and nothing else: no queue, no scheduler, no process boundary, no HTTP. The context matches what a
/// Sovereign runner gives one sequence (same threads, context length and flash-attention setting), and every decode
/// runs on the context's own thread (see <see cref="RawLlamaContext"/>).
/// Owns the native model, the context and the thread; runs are queued one at a time; dispose to free them.
/// </summary>
public sealed class RawLlamaBaseline : IDisposable
{
    private readonly RawLlamaContext _llama;

    private RawLlamaBaseline(RawLlamaContext llama, int threads)
    {
        _llama = llama;
        Threads = threads;
    }

    public int Threads { get; }

    /// <summary>Tokens the one sequence may hold (the requested size, capped by the model's training context).</summary>
    public int ContextSize => _llama.ContextSize;

    /// <summary>Loads <paramref name="modelPath"/> on the CPU with <paramref name="threads"/> threads (0 = every core).</summary>
    /// <exception cref="InvalidOperationException">llama.cpp refused the model or the context.</exception>
    public static RawLlamaBaseline Load(string modelPath, int threads, int contextSize)
    {
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        return new RawLlamaBaseline(RawLlamaContext.Load(modelPath, threads, contextSize, sequences: 1, "sovereign-bench-raw"), threads);
    }

    /// <summary>Tokens of <paramref name="text"/> as a prompt (with the model's BOS when it wants one), the way the engine counts them.</summary>
    public int CountTokens(string text) => _llama.Tokenize(text).Length;

    /// <summary>
    /// Generates exactly <paramref name="maxTokens"/> tokens greedily after <paramref name="prompt"/> (end-of-sequence
    /// ignored) on the baseline's thread and returns the times at which each token was ready, on <paramref name="clock"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The prompt and tokens do not fit, or llama_decode failed.</exception>
    public Task<StreamTrace> GenerateAsync(string prompt, int maxTokens, BenchClock clock, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        return _llama.RunAsync(() => Generate(prompt, maxTokens, clock, cancellationToken), cancellationToken);
    }

    private StreamTrace Generate(string prompt, int maxTokens, BenchClock clock, CancellationToken cancellationToken)
    {
        var sentAt = clock.Now;
        var batch = _llama.Batch;
        // :: Step 1: a clean sequence and a fresh greedy sampler, as the engine gives each request.
        _llama.Context.MemoryClear(true);
        using var sampler = SafeLLamaSamplerChainHandle.Create(LLamaSamplerChainParams.Default());
        sampler.AddGreedySampler();
        var tokens = _llama.Tokenize(prompt);
        if (tokens.Length + maxTokens > ContextSize)
            throw new InvalidOperationException($"{tokens.Length} prompt tokens and {maxTokens} more do not fit a {ContextSize}-token context.");

        // :: Step 2: prefill in batches; logits only for the last prompt token.
        var position = 0;
        var logitIndex = -1;
        while (position < tokens.Length)
        {
            batch.Clear();
            var n = Math.Min(RawLlamaContext.PromptBatch, tokens.Length - position);
            for (var i = 0; i < n; i++)
            {
                var last = position + i == tokens.Length - 1;
                var index = batch.Add(tokens[position + i], position + i, LLamaSeqId.Zero, last);
                if (last) logitIndex = index;
            }
            _llama.Decode();
            position += n;
        }

        // :: Step 3: one token per decode.
        var times = new List<double>(maxTokens);
        for (var generated = 0; ; generated++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var token = sampler.Sample(_llama.Context, logitIndex);
            _llama.Detokenize(token);
            times.Add(clock.Now);
            if (generated + 1 == maxTokens) break;
            batch.Clear();
            logitIndex = batch.Add(token, position++, LLamaSeqId.Zero, true);
            _llama.Decode();
        }
        return new StreamTrace
        {
            SentAt = sentAt,
            ChunkTimes = times,
            EndedAt = times[^1],
            PromptTokens = tokens.Length,
            CompletionTokens = maxTokens,
            FinishReason = "length",
        };
    }

    public void Dispose() => _llama.Dispose();
}
