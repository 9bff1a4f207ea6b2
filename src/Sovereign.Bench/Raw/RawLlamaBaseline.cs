using System.Collections.Concurrent;
using System.Text;
using LLama.Native;
using Sovereign.Bench.Driver;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Raw;

/// <summary>
/// The yardstick: one model driven by LLamaSharp in this process, the plainest way there is: one context, one
/// sequence, the prompt decoded, then one token per llama_decode with llama.cpp's greedy sampler and the token turned
/// into bytes, and nothing else: no queue, no scheduler, no process boundary, no HTTP. The context matches what a
/// Sovereign runner gives one sequence (same threads, context length and flash-attention setting).
/// <para>
/// Every decode runs on one thread of its own, for the baseline's whole life, as the engine's loop does. llama.cpp's
/// OpenMP build keeps a team of worker threads per calling thread; decoding from a new thread each run leaves the old
/// teams behind, and they take the CPUs from whatever runs next (measured: the in-process engine then ran 10–50 times
/// slower on 2 cores).
/// </para>
/// Owns the native model, the context and the thread; runs are queued one at a time; dispose to free them.
/// </summary>
public sealed class RawLlamaBaseline : IDisposable
{
    private const int PromptBatch = 512;

    private readonly SafeLlamaModelHandle _model;
    private readonly SafeLLamaContextHandle _context;
    private readonly LLamaBatch _batch = new();
    private readonly byte[] _piece = new byte[256];
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;

    private RawLlamaBaseline(SafeLlamaModelHandle model, SafeLLamaContextHandle context, int threads, int contextSize)
    {
        _model = model;
        _context = context;
        Threads = threads;
        ContextSize = contextSize;
        _thread = new Thread(() =>
        {
            foreach (var run in _work.GetConsumingEnumerable()) run();
        })
        { IsBackground = true, Name = "sovereign-bench-raw" };
        _thread.Start();
    }

    public int Threads { get; }

    /// <summary>Tokens the one sequence may hold (the requested size, capped by the model's training context).</summary>
    public int ContextSize { get; }

    /// <summary>Loads <paramref name="modelPath"/> on the CPU with <paramref name="threads"/> threads (0 = every core).</summary>
    /// <exception cref="InvalidOperationException">llama.cpp refused the model or the context.</exception>
    public static RawLlamaBaseline Load(string modelPath, int threads, int contextSize)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        SilenceNativeLog();
        var modelParams = LLamaModelParams.Default();
        modelParams.n_gpu_layers = 0;
        var model = SafeLlamaModelHandle.LoadFromFile(modelPath, modelParams);
        try
        {
            var size = model.ContextSize > 0 ? Math.Min(contextSize, model.ContextSize) : contextSize;
            var contextParams = LLamaContextParams.Default();
            contextParams.n_ctx = (uint)size;
            contextParams.n_seq_max = 1;
            contextParams.n_batch = PromptBatch;
            contextParams.n_ubatch = PromptBatch;
            contextParams.n_threads = threads;
            contextParams.n_threads_batch = threads;
            contextParams.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
            var context = SafeLLamaContextHandle.Create(model, contextParams);
            if (context.IsInvalid)
                throw new InvalidOperationException($"llama.cpp could not create a {size}-token context for {modelPath}.");
            return new RawLlamaBaseline(model, context, threads, (int)context.ContextSize);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads llama.cpp (LLamaSharp installs its library resolver in NativeApi's static constructor, so NativeApi goes
    /// first) and drops its log: in this process it would write over the benchmark's console.
    /// </summary>
    private static void SilenceNativeLog()
    {
        NativeApi.llama_empty_call();
        NativeLogConfig.llama_log_set(static (_, _) => { });
    }

    /// <summary>Tokens of <paramref name="text"/> as a prompt (with the model's BOS when it wants one), the way the engine counts them.</summary>
    public int CountTokens(string text) => _model.Tokenize(text, true, false, Encoding.UTF8).Length;

    /// <summary>
    /// Generates exactly <paramref name="maxTokens"/> tokens greedily after <paramref name="prompt"/> (end-of-sequence
    /// ignored) on the baseline's thread and returns the times at which each token was ready, on <paramref name="clock"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The prompt and tokens do not fit, or llama_decode failed.</exception>
    public Task<StreamTrace> GenerateAsync(string prompt, int maxTokens, BenchClock clock, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        var done = new TaskCompletionSource<StreamTrace>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                done.SetResult(Generate(prompt, maxTokens, clock, cancellationToken));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }, cancellationToken);
        return done.Task;
    }

    private StreamTrace Generate(string prompt, int maxTokens, BenchClock clock, CancellationToken cancellationToken)
    {
        var sentAt = clock.Now;
        // :: Step 1: a clean sequence and a fresh greedy sampler, as the engine gives each request.
        _context.MemoryClear(true);
        using var sampler = SafeLLamaSamplerChainHandle.Create(LLamaSamplerChainParams.Default());
        sampler.AddGreedySampler();
        var tokens = _model.Tokenize(prompt, true, false, Encoding.UTF8);
        if (tokens.Length + maxTokens > ContextSize)
            throw new InvalidOperationException($"{tokens.Length} prompt tokens and {maxTokens} more do not fit a {ContextSize}-token context.");

        // :: Step 2: prefill in batches; logits only for the last prompt token.
        var position = 0;
        var logitIndex = -1;
        while (position < tokens.Length)
        {
            _batch.Clear();
            var n = Math.Min(PromptBatch, tokens.Length - position);
            for (var i = 0; i < n; i++)
            {
                var last = position + i == tokens.Length - 1;
                var index = _batch.Add(tokens[position + i], position + i, LLamaSeqId.Zero, last);
                if (last) logitIndex = index;
            }
            Decode();
            position += n;
        }

        // :: Step 3: one token per decode.
        var times = new List<double>(maxTokens);
        for (var generated = 0; ; generated++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var token = sampler.Sample(_context, logitIndex);
            _model.TokenToSpan(token, _piece);
            times.Add(clock.Now);
            if (generated + 1 == maxTokens) break;
            _batch.Clear();
            logitIndex = _batch.Add(token, position++, LLamaSeqId.Zero, true);
            Decode();
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
