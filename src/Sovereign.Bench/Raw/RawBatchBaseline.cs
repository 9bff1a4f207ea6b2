using System.Collections.Concurrent;
using System.Text;
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
/// As <see cref="RawLlamaBaseline"/>, every decode runs on one thread of its own (llama.cpp's OpenMP teams are per
/// calling thread). Owns the native model, the context and the thread; dispose to free them.
/// </para>
/// </summary>
public sealed class RawBatchBaseline : IDisposable
{
    private const int PromptBatch = 512;

    private readonly SafeLlamaModelHandle _model;
    private readonly SafeLLamaContextHandle _context;
    private readonly LLamaBatch _batch = new();
    private readonly byte[] _piece = new byte[256];
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;

    private RawBatchBaseline(SafeLlamaModelHandle model, SafeLLamaContextHandle context, int sequences, int contextSize)
    {
        _model = model;
        _context = context;
        Sequences = sequences;
        ContextSize = contextSize;
        _thread = new Thread(() =>
        {
            foreach (var run in _work.GetConsumingEnumerable()) run();
        })
        { IsBackground = true, Name = "sovereign-bench-raw-batch" };
        _thread.Start();
    }

    /// <summary>The most sequences one run may decode together.</summary>
    public int Sequences { get; }

    /// <summary>Tokens each sequence may hold.</summary>
    public int ContextSize { get; }

    /// <summary>Loads <paramref name="modelPath"/> on the CPU for up to <paramref name="sequences"/> sequences of <paramref name="contextSize"/> tokens.</summary>
    /// <exception cref="InvalidOperationException">llama.cpp refused the model or the context.</exception>
    public static RawBatchBaseline Load(string modelPath, int threads, int contextSize, int sequences)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequences, 1);
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        NativeApi.llama_empty_call();
        NativeLogConfig.llama_log_set(static (_, _) => { });
        var modelParams = LLamaModelParams.Default();
        modelParams.n_gpu_layers = 0;
        var model = SafeLlamaModelHandle.LoadFromFile(modelPath, modelParams);
        try
        {
            var size = model.ContextSize > 0 ? Math.Min(contextSize, model.ContextSize) : contextSize;
            var contextParams = LLamaContextParams.Default();
            contextParams.n_ctx = checked((uint)(size * sequences));
            contextParams.n_seq_max = (uint)sequences;
            contextParams.n_batch = PromptBatch;
            contextParams.n_ubatch = PromptBatch;
            contextParams.n_threads = threads;
            contextParams.n_threads_batch = threads;
            contextParams.kv_unified = false;
            contextParams.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
            var context = SafeLLamaContextHandle.Create(model, contextParams);
            if (context.IsInvalid)
                throw new InvalidOperationException($"llama.cpp could not create a context of {sequences} × {size} tokens for {modelPath}.");
            return new RawBatchBaseline(model, context, sequences, (int)(context.ContextSize / Math.Max(1u, context.MaxSeq)));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

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
        var done = new TaskCompletionSource<IReadOnlyList<StreamTrace>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                done.SetResult(Generate(prompts, maxTokens, clock, cancellationToken));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }, cancellationToken);
        return done.Task;
    }

    private IReadOnlyList<StreamTrace> Generate(IReadOnlyList<string> prompts, int maxTokens, BenchClock clock, CancellationToken cancellationToken)
    {
        var sentAt = clock.Now;
        var n = prompts.Count;
        _context.MemoryClear(true);
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
                var tokens = _model.Tokenize(prompts[s], true, false, Encoding.UTF8);
                if (tokens.Length + maxTokens > ContextSize)
                    throw new InvalidOperationException($"{tokens.Length} prompt tokens and {maxTokens} more do not fit a {ContextSize}-token sequence.");
                promptTokens[s] = tokens.Length;
                while (positions[s] < tokens.Length)
                {
                    _batch.Clear();
                    var count = Math.Min(PromptBatch, tokens.Length - positions[s]);
                    for (var i = 0; i < count; i++)
                    {
                        var last = positions[s] + i == tokens.Length - 1;
                        var index = _batch.Add(tokens[positions[s] + i], positions[s] + i, (LLamaSeqId)s, last);
                        if (last) logitIndex[s] = index;
                    }
                    Decode();
                    positions[s] += count;
                }
                next[s] = samplers[s].Sample(_context, logitIndex[s]);
                _model.TokenToSpan(next[s], _piece);
                times[s].Add(clock.Now);
            }

            // :: Step 2: every step decodes one token of each sequence in one batch, then samples each.
            for (var generated = 1; generated < maxTokens; generated++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _batch.Clear();
                for (var s = 0; s < n; s++)
                    logitIndex[s] = _batch.Add(next[s], positions[s]++, (LLamaSeqId)s, true);
                Decode();
                for (var s = 0; s < n; s++)
                {
                    next[s] = samplers[s].Sample(_context, logitIndex[s]);
                    _model.TokenToSpan(next[s], _piece);
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

    private void Decode()
    {
        var result = _context.Decode(_batch);
        if (result != DecodeResult.Ok)
            throw new InvalidOperationException($"llama_decode failed: {result}.");
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join();
        _work.Dispose();
        _batch.Clear();
        _context.Dispose();
        _model.Dispose();
    }
}
