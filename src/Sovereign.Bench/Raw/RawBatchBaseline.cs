using LLama.Native;
using Sovereign.Bench.Driver;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Raw;

/// <summary>
/// The batching yardstick: several sequences decoded together by the plainest loop there is, one llama_decode per
/// step holding one token of every sequence, greedy sampling, nothing else. Its context is laid out as a Sovereign
/// runner lays out its own (one KV stream per sequence, each as long as one request may be; same threads, no flash
/// attention), so what it reaches at N sequences is what llama.cpp on this machine allows, and the served sweep's
/// batching ratio can be read against it in the same run.
/// <para>
/// As <see cref="RawLlamaBaseline"/>, every decode runs on the context's own thread (see <see cref="RawLlamaContext"/>).
/// Owns the native model, the context and the thread; dispose to free them.
/// </para>
/// </summary>
public sealed class RawBatchBaseline : IDisposable
{
    private readonly RawLlamaContext _llama;

    private RawBatchBaseline(RawLlamaContext llama, int sequences)
    {
        _llama = llama;
        Sequences = sequences;
    }

    /// <summary>The most sequences one run may decode together.</summary>
    public int Sequences { get; }

    /// <summary>Tokens each sequence may hold.</summary>
    public int ContextSize => _llama.ContextSize;

    /// <summary>Loads <paramref name="modelPath"/> on the CPU for up to <paramref name="sequences"/> sequences of <paramref name="contextSize"/> tokens.</summary>
    /// <exception cref="InvalidOperationException">llama.cpp refused the model or the context.</exception>
    public static RawBatchBaseline Load(string modelPath, int threads, int contextSize, int sequences) =>
        new(RawLlamaContext.Load(modelPath, threads, contextSize, sequences, "sovereign-bench-raw-batch"), sequences);

    /// <summary>
    /// Prefills each prompt as its own sequence, then generates exactly <paramref name="maxTokens"/> tokens for every
    /// one of them in lockstep (end-of-sequence ignored), and returns each sequence's trace: one piece per token, timed
    /// when its step's tokens were sampled.
    /// </summary>
    /// <exception cref="InvalidOperationException">Too many prompts, a prompt that does not fit, or llama_decode failed.</exception>
    public Task<IReadOnlyList<StreamTrace>> GenerateAsync(IReadOnlyList<string> prompts, int maxTokens, BenchClock clock, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        if (prompts.Count < 1 || prompts.Count > Sequences)
            throw new InvalidOperationException($"{prompts.Count} prompts for a baseline of {Sequences} sequences.");
        return _llama.RunAsync(() => Generate(prompts, maxTokens, clock, cancellationToken), cancellationToken);
    }

    private IReadOnlyList<StreamTrace> Generate(IReadOnlyList<string> prompts, int maxTokens, BenchClock clock, CancellationToken cancellationToken)
    {
        var sentAt = clock.Now;
        var n = prompts.Count;
        var batch = _llama.Batch;
        _llama.Context.MemoryClear(true);
        var samplers = new SafeLLamaSamplerChainHandle[n];
        try
        {
            // :: Step 1: each prompt prefilled as sequence i and its first token sampled at once (llama.cpp keeps the
            // logits of the last decode only).
            var positions = new int[n];
            var logitIndex = new int[n];
            var promptTokens = new int[n];
            var next = new LLamaToken[n];
            var times = Enumerable.Range(0, n).Select(_ => new List<double>(maxTokens)).ToArray();
            for (var s = 0; s < n; s++)
            {
                samplers[s] = SafeLLamaSamplerChainHandle.Create(LLamaSamplerChainParams.Default());
                samplers[s].AddGreedySampler();
                var tokens = _llama.Tokenize(prompts[s]);
                if (tokens.Length + maxTokens > ContextSize)
                    throw new InvalidOperationException($"{tokens.Length} prompt tokens and {maxTokens} more do not fit a {ContextSize}-token sequence.");
                promptTokens[s] = tokens.Length;
                while (positions[s] < tokens.Length)
                {
                    batch.Clear();
                    var count = Math.Min(RawLlamaContext.PromptBatch, tokens.Length - positions[s]);
                    for (var i = 0; i < count; i++)
                    {
                        var last = positions[s] + i == tokens.Length - 1;
                        var index = batch.Add(tokens[positions[s] + i], positions[s] + i, (LLamaSeqId)s, last);
                        if (last) logitIndex[s] = index;
                    }
                    _llama.Decode();
                    positions[s] += count;
                }
                next[s] = samplers[s].Sample(_llama.Context, logitIndex[s]);
                _llama.Detokenize(next[s]);
                times[s].Add(clock.Now);
            }

            // :: Step 2: every step decodes one token of each sequence in one batch, then samples each.
            for (var generated = 1; generated < maxTokens; generated++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                batch.Clear();
                for (var s = 0; s < n; s++)
                    logitIndex[s] = batch.Add(next[s], positions[s]++, (LLamaSeqId)s, true);
                _llama.Decode();
                for (var s = 0; s < n; s++)
                {
                    next[s] = samplers[s].Sample(_llama.Context, logitIndex[s]);
                    _llama.Detokenize(next[s]);
                }
                var now = clock.Now;
                foreach (var t in times) t.Add(now);
            }
            return [.. times.Select((t, s) => new StreamTrace
            {
                SentAt = sentAt,
                ChunkTimes = t,
                EndedAt = t[^1],
                PromptTokens = promptTokens[s],
                CompletionTokens = maxTokens,
                FinishReason = "length",
            })];
        }
        finally
        {
            foreach (var sampler in samplers) sampler?.Dispose();
        }
    }

    public void Dispose() => _llama.Dispose();
}
