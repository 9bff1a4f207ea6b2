using System.Text;
using LLama.Native;
using Sovereign.Core.Errors;

namespace Sovereign.Inference.Engine;

/// <summary>Relevance scores in (0, 1), one per document in input order, how they were computed, and the tokens read.</summary>
public sealed record RerankResult(float[] Scores, int PromptTokens, string Method);

/// <summary>
/// Scores (query, document) pairs with a GGUF model, in a llama context of its own on the engine's weights (so the
/// weights are loaded once and generation never waits on its KV cache). Two methods, chosen by the model:
/// <list type="bullet">
/// <item><c>rank</c>: a cross-encoder whose GGUF declares rank pooling (bge-reranker style) reads
/// <c>query EOS SEP document EOS</c> and its classifier output is the score (the llama.cpp server's layout).</item>
/// <item><c>yes_no</c>: any other (causal) model is asked whether the document answers the query and the score is
/// P("yes") against "no" from the logits of the next token (Qwen3-Reranker style); it works with every causal model,
/// though only a model trained for it gives meaningful scores.</item>
/// </list>
/// Both are squashed by the logistic function so scores share a scale. Several pairs go into one decode, each as its
/// own sequence. Thread-safe: calls take turns on the context.
/// </summary>
internal sealed class LlamaReranker : IDisposable
{
    public const string RankMethod = "rank";
    public const string YesNoMethod = "yes_no";

    /// <summary>Most pairs in one decode (llama.cpp sequences of the context).</summary>
    public const int MaxSequencesPerDecode = 16;

    // The yes/no prompt, split around the query and the document so the document alone can be cut to its token cap.
    private const string PromptHead = "Judge whether the Document answers the Query. Reply only \"yes\" or \"no\".\nQuery: ";
    private const string PromptMiddle = "\nDocument: ";
    private const string PromptTail = "\nDoes the Document answer the Query? Answer:";

    private readonly SafeLlamaModelHandle _model;
    private readonly SafeLLamaContextHandle _context;
    private readonly LLamaBatch _batch = new();
    private readonly Lock _gate = new();
    private readonly LLamaToken _yes;
    private readonly LLamaToken _no;
    private bool _disposed;

    public LlamaReranker(SafeLlamaModelHandle model, int contextTokens, int threads)
    {
        _model = model;
        Method = HasRankPooling(model) ? RankMethod : YesNoMethod;
        if (Method == YesNoMethod)
        {
            // The first token of each answer decides: what a model says first is what it means.
            _yes = FirstToken("yes");
            _no = FirstToken("no");
            if (_yes == _no)
                throw new SovereignException(ErrorKind.InvalidRequest, "This model's vocabulary cannot tell \"yes\" from \"no\", so it cannot rerank.", "model", "reranker_unsupported");
        }

        var sequences = (uint)Math.Min(MaxSequencesPerDecode, NativeApi.llama_max_parallel_sequences());
        var p = LLamaContextParams.Default();
        p.n_ctx = (uint)contextTokens;
        // A pair must fit one micro-batch: a cross-encoder attends over all of it and rank pooling reads all of it.
        p.n_batch = (uint)contextTokens;
        p.n_ubatch = (uint)contextTokens;
        p.n_seq_max = sequences;
        p.kv_unified = true;
        p.embeddings = Method == RankMethod;
        p.llama_pooling_type = Method == RankMethod ? LLamaPoolingType.Rank : LLamaPoolingType.None;
        p.n_threads = threads;
        p.n_threads_batch = threads;
        p.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        _context = SafeLLamaContextHandle.Create(model, p);
        if (_context.IsInvalid)
        {
            throw new SovereignException(ErrorKind.Internal, $"llama.cpp could not create a reranking context of {contextTokens} tokens for this model.",
                code: "rerank_context_failed");
        }
        MaxTokens = (int)Math.Min(_context.ContextSize, (uint)contextTokens);
        MaxSequences = (int)Math.Min(sequences, _context.MaxSeq);
    }

    /// <summary><see cref="RankMethod"/> or <see cref="YesNoMethod"/>.</summary>
    public string Method { get; }

    /// <summary>Most tokens of one pair (and of all pairs of one decode together).</summary>
    public int MaxTokens { get; }

    public int MaxSequences { get; }

    /// <summary>
    /// Scores every document against <paramref name="query"/>. A document is cut to <paramref name="maxDocumentTokens"/>
    /// tokens and to what the context leaves beside the query; a query is cut to half the context.
    /// </summary>
    public RerankResult Rerank(string query, IReadOnlyList<string> documents, int maxDocumentTokens, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDocumentTokens, 1);

        // :: Step 1: every pair's tokens, bounded, before any decode.
        var pairs = new LLamaToken[documents.Count][];
        for (var i = 0; i < documents.Count; i++)
            pairs[i] = PairTokens(query, documents[i] ?? "", maxDocumentTokens);

        var scores = new float[documents.Count];
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);

            // :: Step 2: pack consecutive pairs into one batch while they fit, decode, read each pair's score, clear.
            var next = 0;
            var logitIndex = new int[MaxSequences];
            while (next < pairs.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _batch.Clear();
                var first = next;
                var used = 0;
                while (next < pairs.Length && next - first < MaxSequences && used + pairs[next].Length <= MaxTokens)
                {
                    // Rank pooling reads the whole sequence; the yes/no method reads only the last token's logits.
                    var sequence = (LLamaSeqId)(next - first);
                    if (Method == RankMethod)
                    {
                        for (var t = 0; t < pairs[next].Length; t++) _batch.Add(pairs[next][t], t, sequence, true);
                    }
                    else
                    {
                        logitIndex[next - first] = _batch.AddRange(pairs[next], 0, sequence, true);
                    }
                    used += pairs[next].Length;
                    next++;
                }

                var result = _context.Decode(_batch);
                if (result != DecodeResult.Ok)
                {
                    _context.MemoryClear(true);
                    throw new SovereignException(ErrorKind.Internal, $"llama.cpp could not score the passages (decode returned {result}).", code: "rerank_failed");
                }
                for (var i = first; i < next; i++)
                {
                    double raw = Method == RankMethod
                        ? _context.GetEmbeddingsSeq((LLamaSeqId)(i - first))[0]
                        : YesLogOdds(_context.GetLogitsIth(logitIndex[i - first]));
                    scores[i] = (float)(1.0 / (1.0 + Math.Exp(-raw)));
                }
                _context.MemoryClear(true);
            }
        }
        return new RerankResult(scores, pairs.Sum(p => p.Length), Method);
    }

    private double YesLogOdds(Span<float> logits) => (double)logits[(int)_yes] - logits[(int)_no];

    private LLamaToken[] PairTokens(string query, string document, int maxDocumentTokens)
    {
        var vocab = _model.Vocab;
        var room = MaxTokens;
        if (Method == RankMethod)
        {
            var q = Cut(Tokenize(query, vocab.ShouldAddBOS), MaxTokens / 2);
            var sep = new List<LLamaToken>();
            if (vocab.EOS is { } eos) sep.Add(eos);
            if (vocab.SEP is { } s) sep.Add(s);
            var end = vocab.EOS is { } e2 ? new[] { e2 } : [];
            var d = Cut(Tokenize(document, false), Math.Min(maxDocumentTokens, room - q.Length - sep.Count - end.Length));
            return [.. q, .. sep, .. d, .. end];
        }
        // The prompt is tokenised whole, as the model saw such text in training (tokenising pieces apart would add
        // word-start markers inside it); query and document are first cut to their caps by tokens, then back to text.
        var fixedTokens = Tokenize(YesNoPrompt("", ""), vocab.ShouldAddBOS).Length;
        var queryText = CutText(query, Math.Max(1, (room - fixedTokens) / 2));
        var queryTokens = Tokenize(queryText, false).Length;
        var cap = Math.Max(0, Math.Min(maxDocumentTokens, room - fixedTokens - queryTokens));
        for (var attempt = 0; ; attempt++)
        {
            var tokens = Tokenize(YesNoPrompt(queryText, CutText(document, cap)), vocab.ShouldAddBOS);
            if (tokens.Length <= room) return tokens;
            // Whole-prompt tokenisation may count a few tokens more than the parts did; shrink the document by that.
            cap = Math.Max(0, cap - (tokens.Length - room) - 1);
            if (attempt == 3) return tokens[..room];
        }
    }

    /// <summary>The prompt of the yes/no method; the score is read from the logits of the token after it.</summary>
    internal static string YesNoPrompt(string query, string document) => PromptHead + query + PromptMiddle + document + PromptTail;

    /// <summary><paramref name="text"/> cut to its first <paramref name="maxTokens"/> tokens, as text.</summary>
    private string CutText(string text, int maxTokens)
    {
        var tokens = Tokenize(text, false);
        if (tokens.Length <= maxTokens) return text;
        var bytes = new List<byte>();
        var piece = new byte[256];
        foreach (var token in tokens.AsSpan(0, maxTokens))
        {
            var n = (int)_model.TokenToSpan(token, piece);
            bytes.AddRange(piece.AsSpan(0, Math.Min(n, piece.Length)));
        }
        // A cut inside a multi-byte character leaves a replacement character at the end; drop it.
        return Encoding.UTF8.GetString(bytes.ToArray()).TrimStart(' ').TrimEnd('\uFFFD');
    }

    private LLamaToken[] Tokenize(string text, bool addBos) =>
        text.Length == 0 ? [] : _model.Tokenize(text, addBos, special: false, Encoding.UTF8);

    private static LLamaToken[] Cut(LLamaToken[] tokens, int max) => tokens.Length <= max ? tokens : tokens[..Math.Max(0, max)];

    private LLamaToken FirstToken(string word)
    {
        var tokens = _model.Tokenize(word, false, special: false, Encoding.UTF8);
        return tokens.Length > 0 ? tokens[0]
            : throw new SovereignException(ErrorKind.InvalidRequest, $"This model has no token for \"{word}\", so it cannot rerank.", "model", "reranker_unsupported");
    }

    /// <summary>Whether the GGUF declares rank pooling (<c>{arch}.pooling_type</c> = 4, llama.cpp's LLAMA_POOLING_TYPE_RANK).</summary>
    private static bool HasRankPooling(SafeLlamaModelHandle model)
    {
        var arch = Text(model.MetadataValueByKey("general.architecture"));
        return arch is not null && Text(model.MetadataValueByKey($"{arch}.pooling_type")) == ((int)LLamaPoolingType.Rank).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string? Text(Memory<byte>? value) => value is { } v ? Encoding.UTF8.GetString(v.Span).TrimEnd('\0') : null;

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
