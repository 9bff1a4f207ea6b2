using System.Collections.Concurrent;
using System.Text;
using LLama.Native;

namespace Sovereign.Bench.Raw;

/// <summary>
/// What both raw yardsticks stand on: a model on the CPU, one context laid out as a Sovereign runner lays out its own
/// (one KV stream per sequence, each <see cref="ContextSize"/> tokens; same threads; no flash attention), one batch,
/// and one thread of its own on which every piece of work runs, for the context's whole life.
/// <para>
/// The thread matters: llama.cpp's OpenMP build keeps a team of worker threads per calling thread; decoding from a
/// new thread each run leaves the old teams behind, and they take the CPUs from whatever runs next (measured: the
/// in-process engine then ran 10–50 times slower on 2 cores).
/// </para>
/// Owns the native model, the context and the thread; work is queued one piece at a time; dispose to free them.
/// </summary>
internal sealed class RawLlamaContext : IDisposable
{
    /// <summary>Prompt tokens per llama_decode (n_batch = n_ubatch).</summary>
    public const int PromptBatch = 512;

    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;
    private readonly byte[] _piece = new byte[256];

    private RawLlamaContext(SafeLlamaModelHandle model, SafeLLamaContextHandle context, int contextSize, string threadName)
    {
        Model = model;
        Context = context;
        ContextSize = contextSize;
        _thread = new Thread(() =>
        {
            foreach (var run in _work.GetConsumingEnumerable()) run();
        })
        { IsBackground = true, Name = threadName };
        _thread.Start();
    }

    public SafeLlamaModelHandle Model { get; }

    public SafeLLamaContextHandle Context { get; }

    /// <summary>The batch work fills; only touched on the context's thread.</summary>
    public LLamaBatch Batch { get; } = new();

    /// <summary>Tokens each sequence may hold (the requested size, capped by the model's training context).</summary>
    public int ContextSize { get; }

    /// <summary>
    /// Loads <paramref name="modelPath"/> with <paramref name="threads"/> threads (0 = every core) for up to
    /// <paramref name="sequences"/> sequences of <paramref name="contextSize"/> tokens each.
    /// </summary>
    /// <exception cref="InvalidOperationException">llama.cpp refused the model or the context.</exception>
    public static RawLlamaContext Load(string modelPath, int threads, int contextSize, int sequences, string threadName)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequences, 1);
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        SilenceNativeLog();
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
            return new RawLlamaContext(model, context, (int)(context.ContextSize / Math.Max(1u, context.MaxSeq)), threadName);
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

    /// <summary>Tokens of <paramref name="text"/> as a prompt, with the model's BOS when it wants one.</summary>
    public LLamaToken[] Tokenize(string text) => Model.Tokenize(text, true, false, Encoding.UTF8);

    /// <summary>Turns <paramref name="token"/> into its bytes, as a server must before it can send it.</summary>
    public void Detokenize(LLamaToken token) => Model.TokenToSpan(token, _piece);

    /// <summary>Runs <paramref name="work"/> on the context's thread.</summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }, cancellationToken);
        return done.Task;
    }

    /// <summary>llama_decode of <see cref="Batch"/>.</summary>
    /// <exception cref="InvalidOperationException">llama_decode failed.</exception>
    public void Decode()
    {
        var result = Context.Decode(Batch);
        if (result != DecodeResult.Ok)
            throw new InvalidOperationException($"llama_decode failed: {result}.");
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join();
        _work.Dispose();
        Batch.Clear();
        Context.Dispose();
        Model.Dispose();
    }
}
