using System.Text;
using LLama.Native;
using Sovereign.Core.Errors;

namespace Sovereign.Inference.Engine;

/// <summary>Vectors (L2-normalised, in input order) and the tokens read to make them.</summary>
public sealed record EmbeddingResult(float[][] Vectors, int PromptTokens);

/// <summary>
/// Embeddings from a GGUF model: a second llama context on the engine's model, with embeddings on and mean pooling,
/// apart from the generation context so embedding never disturbs running sequences (the weights are shared; the
/// generation loop keeps its own context). Several inputs go into one decode, each as its own sequence, as many
/// as fit the context. Thread-safe: calls take turns on the context.
/// </summary>
internal sealed class LlamaEmbedder : IDisposable
{
    /// <summary>Most inputs in one decode (llama.cpp sequences of the embedding context).</summary>
    public const int MaxSequencesPerDecode = 16;

    private readonly SafeLlamaModelHandle _model;
    private readonly SafeLLamaContextHandle _context;
    private readonly LLamaBatch _batch = new();
    private readonly Lock _gate = new();
    private bool _disposed;

    public LlamaEmbedder(SafeLlamaModelHandle model, int contextTokens, int threads)
    {
        _model = model;
        var sequences = (uint)Math.Min(MaxSequencesPerDecode, NativeApi.llama_max_parallel_sequences());
        var p = LLamaContextParams.Default();
        p.n_ctx = (uint)contextTokens;
        // Every token of an input must be in one micro-batch: non-causal models attend over the whole input, and
        // pooling reads all of it.
        p.n_batch = (uint)contextTokens;
        p.n_ubatch = (uint)contextTokens;
        p.n_seq_max = sequences;
        p.kv_unified = true;
        p.embeddings = true;
        p.llama_pooling_type = LLamaPoolingType.Mean;
        p.n_threads = threads;
        p.n_threads_batch = threads;
        p.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        _context = SafeLLamaContextHandle.Create(model, p);
        if (_context.IsInvalid)
        {
            throw new SovereignException(ErrorKind.Internal, $"llama.cpp could not create an embedding context of {contextTokens} tokens for this model.",
                code: "embedding_context_failed");
        }
        // llama.cpp may round n_ctx up; a decode never takes more than n_batch tokens.
        MaxTokens = (int)Math.Min(_context.ContextSize, (uint)contextTokens);
        MaxSequences = (int)Math.Min(sequences, _context.MaxSeq);
        Dimensions = _context.EmbeddingSize;
    }

    /// <summary>Most tokens read from one input (and from all inputs of one decode together).</summary>
    public int MaxTokens { get; }

    public int MaxSequences { get; }

    public int Dimensions { get; }

    /// <summary>
    /// Embeds <paramref name="texts"/>. An input longer than <see cref="MaxTokens"/> is cut to it with
    /// <paramref name="truncate"/>, otherwise refused (400 input_too_long) before anything is decoded.
    /// </summary>
    public EmbeddingResult Embed(IReadOnlyList<string> texts, bool truncate, CancellationToken cancellationToken)
    {
        // :: Step 1: tokenise everything first, so a bad input fails the request before any work.
        var vocab = _model.Vocab;
        var tokens = new LLamaToken[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            var t = _model.Tokenize(texts[i], vocab.ShouldAddBOS, special: false, Encoding.UTF8);
            if (vocab.ShouldAddEOS && vocab.EOS is { } eos) t = [.. t, eos];
            if (t.Length == 0)
                throw SovereignException.Invalid($"input[{i}] has no tokens for this model.", "input", "empty_input");
            if (t.Length > MaxTokens)
            {
                if (!truncate)
                {
                    throw SovereignException.Invalid(
                        $"input[{i}] has {t.Length} tokens; this model reads at most {MaxTokens}. Split it into smaller pieces.", "input", "input_too_long");
                }
                t = t[..MaxTokens];
            }
            tokens[i] = t;
        }

        var vectors = new float[texts.Count][];
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);

            // :: Step 2: pack consecutive inputs into one batch while they fit (sequences and tokens), decode, read
            // each sequence's pooled vector, clear the memory, repeat.
            var next = 0;
            while (next < tokens.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _batch.Clear();
                var first = next;
                var used = 0;
                while (next < tokens.Length && next - first < MaxSequences && used + tokens[next].Length <= MaxTokens)
                {
                    _batch.AddRange(tokens[next], 0, (LLamaSeqId)(next - first), true);
                    used += tokens[next].Length;
                    next++;
                }

                var result = _context.Decode(_batch);
                if (result != DecodeResult.Ok)
                {
                    _context.MemoryClear(true);
                    throw new SovereignException(ErrorKind.Internal, $"llama.cpp could not compute the embeddings (decode returned {result}).", code: "embedding_failed");
                }
                for (var i = first; i < next; i++)
                    vectors[i] = Normalised(_context.GetEmbeddingsSeq((LLamaSeqId)(i - first)));
                _context.MemoryClear(true);
            }
        }
        return new EmbeddingResult(vectors, tokens.Sum(t => t.Length));
    }

    private static float[] Normalised(ReadOnlySpan<float> pooled)
    {
        var v = pooled.ToArray();
        var sum = 0.0;
        foreach (var x in v) sum += (double)x * x;
        if (sum > 0)
        {
            var scale = (float)(1.0 / Math.Sqrt(sum));
            for (var i = 0; i < v.Length; i++) v[i] *= scale;
        }
        return v;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _context.Dispose();
        }
    }
}
