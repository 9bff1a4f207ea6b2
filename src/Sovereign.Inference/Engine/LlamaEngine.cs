using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using LLama.Exceptions;
using LLama.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Inference.Engine;

/// <summary>
/// The in-process inference engine of one loaded model: llama.cpp through LLamaSharp, with continuous batching over
/// <see cref="Slots"/> sequences of one llama context.
/// <para>
/// Threading: one dedicated thread (the loop) owns the llama context and its batch and calls llama_decode synchronously;
/// it is the only thread that touches them. Every public member is thread-safe. <see cref="Submit"/> validates and
/// tokenises on the caller's thread, then hands the request to the loop through a bounded queue; events come back
/// through a per-request channel. <see cref="Dispose"/> stops the loop and frees the context and the model; requests
/// still running then end with a <see cref="GenerationEvent.Failed"/> (<see cref="ErrorKind.Unavailable"/>).
/// </para>
/// </summary>
public sealed partial class LlamaEngine : IDisposable
{
    private const int PenaltyWindow = 64;
    private static readonly TimeSpan QueueFullRetryAfter = TimeSpan.FromSeconds(1);

    private readonly SafeLlamaModelHandle _model;
    private readonly SafeLLamaContextHandle _context;
    private readonly SafeLlamaModelHandle.Vocabulary _vocab;
    private readonly ChatTemplate? _chatTemplate;
    private readonly string _missingTemplateReason;
    private readonly ILogger _logger;
    private readonly int _queueLimit;
    private readonly int _embeddingThreads;
    private readonly int _batchTokens;

    // The vision projector, when the model was loaded with one; its calls are serialised by _visionGate (llama.cpp's
    // multimodal context is not documented as thread-safe).
    private readonly LLama.MtmdWeights? _vision;
    private readonly LLama.LLamaWeights? _weights;
    private readonly object _visionGate = new();

    // Requests accepted and not yet finished (waiting + active); gates the queue. Changed by Submit and the loop.
    private int _outstanding;
    private int _active;
    private long _tokensGenerated;
    private long _promptTokensProcessed;
    private long _steps;
    private int _disposed;

    private LlamaEngine(SafeLlamaModelHandle model, SafeLLamaContextHandle context, EngineSettings settings, int contextSize,
        ChatTemplate? chatTemplate, string missingTemplateReason, string nativeBackend, ILogger logger, LLama.LLamaWeights? weights, LLama.MtmdWeights? vision)
    {
        _weights = weights;
        _vision = vision;
        _batchTokens = settings.Slots + settings.PrefillChunk;
        _model = model;
        _context = context;
        _vocab = model.Vocab;
        _chatTemplate = chatTemplate;
        _missingTemplateReason = missingTemplateReason;
        _logger = logger;
        _queueLimit = settings.QueueLimit;
        _embeddingThreads = settings.Threads > 0 ? settings.Threads : Environment.ProcessorCount;
        Slots = settings.Slots;
        ContextSize = contextSize;
        TrainContext = model.ContextSize;
        NativeBackend = nativeBackend;
        _incoming = Channel.CreateBounded<EngineRequest>(new BoundedChannelOptions(Slots + _queueLimit)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _scheduler = new BatchScheduler(settings.PrefillChunk);
        _pacer = new PrefillPacer(settings.PrefillChunk, settings.PrefillStallTarget, settings.Slots);
        _slots = new EngineRequest?[Slots];
        _runningView = new ActiveSequence[Slots];
        _freeSlotView = new int[Slots];
        _thread = new Thread(RunLoop) { IsBackground = true, Name = "sovereign-engine" };
        _thread.Start();
    }

    /// <summary>Concurrent sequences.</summary>
    public int Slots { get; }

    /// <summary>Context tokens per sequence (prompt plus completion).</summary>
    public int ContextSize { get; }

    /// <summary>The context length the model was trained with (from its metadata).</summary>
    public int TrainContext { get; }

    /// <summary>Whether chat messages may carry images (the model was loaded with a vision projector).</summary>
    public bool HasVision => _vision is not null;

    /// <summary>Whether chat requests can be rendered (an override was given, or llama.cpp recognises the model's template).</summary>
    public bool HasChatTemplate => _chatTemplate is not null;

    /// <summary>The native library in use, e.g. "llama.cpp via LLamaSharp 0.30.0, CPU (AVX2); CPU : SSE3 = 1 | …".</summary>
    public string NativeBackend { get; }

    /// <summary>A snapshot of the engine's load and counters.</summary>
    public EngineStats Stats
    {
        get
        {
            var active = Volatile.Read(ref _active);
            var queued = Math.Max(0, Volatile.Read(ref _outstanding) - active);
            return new EngineStats(active, queued, Interlocked.Read(ref _tokensGenerated), Interlocked.Read(ref _promptTokensProcessed), Interlocked.Read(ref _steps));
        }
    }

    /// <summary>
    /// Loads the model and creates one llama context with <see cref="EngineSettings.Slots"/> sequences of
    /// <see cref="EngineSettings.ContextSize"/> tokens each, then starts the engine loop.
    /// </summary>
    /// <exception cref="SovereignException">Invalid settings (<see cref="ErrorKind.InvalidRequest"/>), a missing file
    /// (<see cref="ErrorKind.NotFound"/>), or llama.cpp refusing the model or the context (<see cref="ErrorKind.Internal"/>,
    /// code model_load_failed).</exception>
    public static LlamaEngine Load(EngineSettings settings, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        logger ??= NullLogger.Instance;

        // :: Step 1: settings and file.
        var errors = settings.Validate();
        if (errors.Count > 0)
            throw new SovereignException(ErrorKind.InvalidRequest, "Invalid engine settings: " + string.Join(" ", errors), code: "invalid_engine_settings");
        if (!File.Exists(settings.ModelPath))
            throw new SovereignException(ErrorKind.NotFound, $"Model file not found: {settings.ModelPath}", code: "model_not_found");

        // :: Step 2: the native library. LLamaSharp installs its library resolver in NativeApi's static constructor;
        // the *Params.Default() calls below do not trigger it, so touch NativeApi first.
        try
        {
            NativeApi.llama_empty_call();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or RuntimeError)
        {
            throw new SovereignException(ErrorKind.Internal, $"The llama.cpp native library could not be loaded: {e.Message}", code: "native_library_missing", inner: e);
        }
        if (settings.Slots > NativeApi.llama_max_parallel_sequences())
            throw new SovereignException(ErrorKind.InvalidRequest, $"Slots must be at most {NativeApi.llama_max_parallel_sequences()} (llama.cpp's limit), got {settings.Slots}.", code: "invalid_engine_settings");

        if (settings.ProjectorPath is { } projectorPath && !File.Exists(projectorPath))
            throw new SovereignException(ErrorKind.NotFound, $"Vision projector file not found: {projectorPath}", code: "model_not_found");

        // :: Step 3: the model (through LLamaWeights when a projector needs it: the multimodal library takes only that).
        var modelParams = LLamaModelParams.Default();
        modelParams.n_gpu_layers = settings.GpuLayers;
        SafeLlamaModelHandle model;
        LLama.LLamaWeights? weights = null;
        try
        {
            if (settings.ProjectorPath is null)
            {
                model = SafeLlamaModelHandle.LoadFromFile(settings.ModelPath, modelParams);
            }
            else
            {
                weights = LLama.LLamaWeights.LoadFromFile(new LLama.Common.ModelParams(settings.ModelPath) { GpuLayerCount = settings.GpuLayers });
                model = weights.NativeHandle;
            }
        }
        catch (Exception e) when (e is RuntimeError or IOException or UnauthorizedAccessException)
        {
            throw new SovereignException(ErrorKind.Internal,
                $"llama.cpp could not load the model '{settings.ModelPath}': the file may be damaged or truncated, or its architecture is not supported by this llama.cpp build.",
                code: "model_load_failed", inner: e);
        }

        SafeLLamaContextHandle? context = null;
        LLama.MtmdWeights? vision = null;
        try
        {
            if (model.HasEncoder || !model.HasDecoder)
                throw new SovereignException(ErrorKind.Internal, $"The model '{settings.ModelPath}' is not a decoder-only model; only those can generate text here.", code: "model_load_failed");

            // :: Step 4: one context, one KV stream per sequence (kv_unified = false), so each gets its own ContextSize.
            var trainContext = model.ContextSize;
            var perSequence = trainContext > 0 ? Math.Min(settings.ContextSize, trainContext) : settings.ContextSize;
            var batchTokens = settings.Slots + settings.PrefillChunk;
            var threads = settings.Threads > 0 ? settings.Threads : Environment.ProcessorCount;
            var contextParams = LLamaContextParams.Default();
            contextParams.n_ctx = checked((uint)(settings.Slots * perSequence));
            contextParams.n_seq_max = (uint)settings.Slots;
            contextParams.n_batch = (uint)batchTokens;
            contextParams.n_ubatch = (uint)Math.Min(batchTokens, 512);
            contextParams.n_threads = threads;
            contextParams.n_threads_batch = threads;
            contextParams.kv_unified = false;
            contextParams.llama_flash_attn_type = settings.FlashAttention
                ? LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_ENABLED
                : LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
            try
            {
                context = SafeLLamaContextHandle.Create(model, contextParams);
            }
            catch (RuntimeError e)
            {
                throw ContextFailed(settings, e);
            }
            // LLamaSharp 0.30.0 does not notice a failed llama_init_from_model (it returns an invalid handle, not null).
            if (context.IsInvalid)
                throw ContextFailed(settings, null);

            // llama.cpp may round n_ctx; never promise a sequence more than its stream holds.
            var contextSize = Math.Min(perSequence, (int)(context.ContextSize / Math.Max(1u, context.MaxSeq)));

            // :: Step 5: chat template and backend description.
            var template = ChatTemplate.Resolve(model, settings.ChatTemplateOverride, out var missingReason);
            var backend = DescribeBackend();

            // :: Step 6: the vision projector, which must produce embeddings as wide as the model's.
            if (settings.ProjectorPath is { } projector)
                vision = LoadProjector(projector, weights!, settings, threads);

            var engine = new LlamaEngine(model, context, settings, contextSize, template, missingReason, backend, logger, weights, vision);
            Log.Loaded(logger, Path.GetFileName(settings.ModelPath), settings.Slots, contextSize, threads, settings.GpuLayers, settings.FlashAttention, template?.Description ?? "none");
            return engine;
        }
        catch
        {
            vision?.Dispose();
            context?.Dispose();
            model.Dispose();
            throw;
        }
    }

    private static LLama.MtmdWeights LoadProjector(string path, LLama.LLamaWeights weights, EngineSettings settings, int threads)
    {
        var parameters = MtmdContextParams.Default();
        parameters.UseGpu = settings.GpuLayers > 0;
        parameters.NThreads = threads;
        parameters.PrintTimings = false;
        LLama.MtmdWeights vision;
        try
        {
            vision = LLama.MtmdWeights.LoadFromFile(path, weights, parameters);
        }
        catch (Exception e) when (e is RuntimeError or InvalidOperationException or IOException)
        {
            throw new SovereignException(ErrorKind.Internal,
                $"llama.cpp could not load the vision projector '{path}' with the model '{settings.ModelPath}': it may be damaged, of a kind this build does not support, or made for another model (its output must be as wide as the model's embeddings).",
                code: "model_load_failed", inner: e);
        }
        if (!vision.SupportsVision)
        {
            vision.Dispose();
            throw new SovereignException(ErrorKind.Internal, $"The projector '{path}' has no vision encoder.", code: "model_load_failed");
        }
        return vision;
    }

    private static SovereignException ContextFailed(EngineSettings s, Exception? inner) => new(ErrorKind.Internal,
        $"llama.cpp could not create a context of {s.Slots} x {s.ContextSize} tokens for '{s.ModelPath}' (not enough memory, or settings the model does not support).",
        code: "model_load_failed", inner: inner);

    /// <summary>Describes the native library in use; loads it when nothing has yet (so `sov doctor` can ask too).</summary>
    public static string DescribeBackend()
    {
        NativeApi.llama_empty_call();
        var version = Hosting.NativeBackendProbe.LlamaSharpVersion;
        var meta = NativeApi.GetLoadedNativeLibrary(NativeLibraryName.LLama)?.Metadata;
        var kind = meta is null ? "unknown build"
            : meta.UseCuda ? "CUDA"
            : meta.UseVulkan ? "Vulkan"
            : $"CPU ({meta.AvxLevel})";
        var gpu = NativeApi.llama_supports_gpu_offload() ? ", GPU offload available" : "";
        var info = Marshal.PtrToStringUTF8(NativeApi.llama_print_system_info())?.Trim() ?? "";
        return $"llama.cpp via LLamaSharp {version}, {kind}{gpu}; {info}";
    }

    /// <summary>
    /// Validates and tokenises <paramref name="request"/> on the calling thread, then queues it. The returned stream
    /// yields <see cref="GenerationEvent.Started"/> when the request gets a slot, then text deltas, then exactly one
    /// <see cref="GenerationEvent.Finished"/> or <see cref="GenerationEvent.Failed"/>. Cancelling
    /// <paramref name="cancellationToken"/> frees the sequence within one engine step; the stream then completes
    /// without a final event.
    /// <para>
    /// Raw prompts get a BOS token when the model's vocabulary asks for one; chat messages are rendered with the chat
    /// template first. In a raw prompt, special tokens written as text (e.g. <c>&lt;|im_start|&gt;</c>) are parsed as
    /// special tokens, as llama.cpp's server does; in chat messages only the template's own markup is, never the
    /// content (see <see cref="TokenizeChat"/>). A grammar, when given, constrains every sampled token. Usage counts every sampled token (an end-of-sequence token included);
    /// <see cref="GenerationUsage.PromptTime"/> runs from getting a slot to the first sampled token (prefill, in steps
    /// shared with other sequences), <see cref="GenerationUsage.DecodeTime"/> from there to the end.
    /// </para>
    /// </summary>
    /// <exception cref="SovereignException">Before anything is queued: invalid sampling, max_tokens or stop strings,
    /// neither or both of prompt and messages, chat messages without a chat template, a prompt that does not fit the
    /// context (code context_length_exceeded) — all <see cref="ErrorKind.InvalidRequest"/>; a full queue
    /// (<see cref="ErrorKind.RateLimited"/> with <see cref="SovereignException.RetryAfter"/>); an engine being
    /// disposed (<see cref="ErrorKind.Unavailable"/>).</exception>
    public ChannelReader<GenerationEvent> Submit(GenerationRequest request, CancellationToken cancellationToken)
    {
        var output = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        Submit(request, output.Writer, cancellationToken);
        return output.Reader;
    }

    /// <summary>
    /// As <see cref="Submit(GenerationRequest, CancellationToken)"/>, with the events written to <paramref name="output"/>
    /// on the engine's loop thread. Its TryWrite must not block; the loop completes it after the last event.
    /// </summary>
    public void Submit(GenerationRequest request, ChannelWriter<GenerationEvent> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(output);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();

        // :: Step 1: the request's own fields.
        request.Sampling.EnsureValid();
        if (request.MaxTokens is <= 0)
            throw SovereignException.Invalid($"max_tokens must be at least 1, got {request.MaxTokens}.", "max_tokens");
        foreach (var stop in request.Stop)
        {
            if (string.IsNullOrEmpty(stop))
                throw SovereignException.Invalid("Stop strings must not be empty.", "stop");
        }
        var grammarRoot = string.IsNullOrEmpty(request.GrammarRoot) ? "root" : request.GrammarRoot;
        if (request.Grammar is not null)
            NativeGrammar.Validate(_model, request.Grammar, grammarRoot);
        var hasPrompt = request.Prompt is not null;
        var hasMessages = request.Messages is not null;
        if (hasPrompt == hasMessages)
            throw SovereignException.Invalid("Exactly one of prompt and messages must be given.", hasPrompt ? "messages" : "prompt");

        // :: Step 2: render (chat) and tokenise.
        LLamaToken[] prompt;
        string param;
        IReadOnlyList<PromptPart>? parts = null;
        LLamaToken[]? penaltyPrompt = null;
        if (hasMessages)
        {
            if (request.Messages!.Count == 0)
                throw SovereignException.Invalid("messages must contain at least one message.", "messages");
            if (request.Messages.Any(m => m.Images is { Count: > 0 }))
            {
                parts = TokenizeChatWithImages(request.Messages);
                penaltyPrompt = [.. parts.Where(p => p.Tokens is not null).SelectMany(p => p.Tokens!)];
                prompt = new LLamaToken[parts.Sum(p => p.Tokens?.Length ?? p.ImageTokens)];
                var at = 0;
                foreach (var part in parts)
                {
                    if (part.Tokens is { } t) t.CopyTo(prompt, at);
                    at += part.Tokens?.Length ?? part.ImageTokens;
                }
            }
            else
            {
                prompt = TokenizeChat(request.Messages);
            }
            param = "messages";
        }
        else
        {
            prompt = TokenizeInternal(request.Prompt!, _vocab.ShouldAddBOS);
            param = "prompt";
        }
        try
        {
            Enqueue(request, output, cancellationToken, prompt, param, parts, penaltyPrompt, grammarRoot);
        }
        catch
        {
            foreach (var part in parts ?? []) part.Dispose();
            throw;
        }
    }

    private void Enqueue(GenerationRequest request, ChannelWriter<GenerationEvent> output, CancellationToken cancellationToken, LLamaToken[] prompt, string param,
        IReadOnlyList<PromptPart>? parts, LLamaToken[]? penaltyPrompt, string grammarRoot)
    {
        if (prompt.Length == 0)
            throw SovereignException.Invalid("The prompt is empty.", param);

        // :: Step 3: it must fit the slot's context (or the request's smaller one), with room for at least one (or
        // max_tokens, unless the request lets it be lowered) new tokens.
        if (request.ContextLimit is int limit && limit < ContextSize && prompt.Length >= limit)
        {
            throw SovereignException.Invalid(
                $"The prompt is {prompt.Length} tokens, which leaves no room for a completion within the request's context of {limit} tokens.",
                GenerationRequest.ContextLimitParam, "context_length_exceeded");
        }
        if (prompt.Length >= ContextSize)
        {
            throw SovereignException.Invalid(
                $"This model's maximum context length is {ContextSize} tokens, but the prompt has {prompt.Length} tokens (leaving no room for a completion).",
                param, "context_length_exceeded");
        }
        var context = Math.Min(ContextSize, request.ContextLimit ?? ContextSize);
        if (request.MaxTokens is int max && prompt.Length + max > context && !request.ClampMaxTokens)
        {
            throw SovereignException.Invalid(
                $"This model's maximum context length is {context} tokens, but {prompt.Length + max} tokens were requested ({prompt.Length} in the prompt, {max} for the completion). Reduce the prompt or max_tokens.",
                "max_tokens", "context_length_exceeded");
        }
        var maxCompletion = Math.Min(request.MaxTokens ?? int.MaxValue, context - prompt.Length);

        // :: Step 4: a place in the queue (waiting + running never exceeds Slots + QueueLimit).
        if (!TryReserve())
        {
            throw new SovereignException(ErrorKind.RateLimited,
                $"The model is busy: all {Slots} slots are in use and {_queueLimit} requests are waiting. Try again shortly.", code: "queue_full")
            {
                RetryAfter = QueueFullRetryAfter,
            };
        }

        // :: Step 5: hand it to the loop.
        var item = new EngineRequest(request.Id, prompt, maxCompletion, request.Stop, request.Sampling, request.IgnoreEos, output, request.Grammar, grammarRoot)
        {
            TenantId = string.IsNullOrEmpty(request.TenantId) ? "default" : request.TenantId,
            TenantWeight = Math.Max(1, request.TenantWeight),
            Parts = parts,
            PenaltyPrompt = penaltyPrompt,
        };
        if (cancellationToken.CanBeCanceled)
        {
            item.Registration = cancellationToken.UnsafeRegister(static state =>
            {
                var (engine, req) = ((LlamaEngine, EngineRequest))state!;
                engine.OnCancelled(req);
            }, (this, item));
        }
        if (!_incoming.Writer.TryWrite(item))
        {
            item.Registration.Unregister();
            Interlocked.Decrement(ref _outstanding);
            throw new SovereignException(ErrorKind.Unavailable, "The engine is shutting down.", code: "engine_stopped") { RetryAfter = QueueFullRetryAfter };
        }
        _wake.Set();
    }

    /// <summary>Tokenises text with the model's vocabulary (special tokens written as text are parsed). Thread-safe.</summary>
    public int[] Tokenize(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        ThrowIfDisposed();
        return MemoryMarshal.Cast<LLamaToken, int>(TokenizeInternal(text, addBos)).ToArray();
    }

    /// <summary>The text of <paramref name="tokens"/> (special tokens render as nothing; bad UTF-8 as U+FFFD). Thread-safe.</summary>
    public string Detokenize(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ThrowIfDisposed();
        var bytes = new ArrayBufferWriter<byte>();
        var piece = new byte[64];
        var vocabSize = _vocab.Count;
        foreach (var t in tokens)
        {
            // llama.cpp does not check token ids here; an id outside the vocabulary would crash the process.
            if ((uint)t >= (uint)vocabSize)
                throw new ArgumentOutOfRangeException(nameof(tokens), t, $"Token ids must be between 0 and {vocabSize - 1}.");
            var n = (int)_model.TokenToSpan(t, piece);
            if (n > piece.Length)
            {
                piece = new byte[n];
                n = (int)_model.TokenToSpan(t, piece);
            }
            bytes.Write(piece.AsSpan(0, n));
        }
        return Encoding.UTF8.GetString(bytes.WrittenSpan);
    }

    /// <summary>
    /// Renders chat messages with the chat template (llama.cpp's own implementation), ending with the start of an
    /// assistant turn. Thread-safe.
    /// </summary>
    /// <exception cref="SovereignException">400 when the model has no chat template and none was set.</exception>
    public string RenderChat(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ThrowIfDisposed();
        if (_chatTemplate is null)
            throw SovereignException.Invalid(_missingTemplateReason, "messages", "chat_template_missing");
        return _chatTemplate.Render(messages);
    }

    /// <summary>
    /// Renders and tokenises a chat so that only the template's markup can become special tokens.
    /// <list type="number">
    /// <item>Render the whole chat; when no content (tokenised with special parsing on) holds a special token, that
    /// rendering is tokenised as one piece, exactly as before (the usual case costs one extra tokenisation per message).</item>
    /// <item>Otherwise render again with each content replaced by a placeholder, cut the rendering at the placeholders,
    /// and tokenise the template's pieces with special parsing and each content without it.</item>
    /// </list>
    /// A message whose content is the platform's own markup (<see cref="ChatMessage.ContentIsMarkup"/>) keeps special parsing.
    /// </summary>
    internal LLamaToken[] TokenizeChat(IReadOnlyList<ChatMessage> messages)
    {
        // :: Step 1
        var rendered = RenderChat(messages);
        var risky = false;
        foreach (var m in messages)
        {
            if (!m.ContentIsMarkup && HasSpecialToken(m.Content))
            {
                risky = true;
                break;
            }
        }
        if (!risky)
            return TokenizeInternal(rendered, _vocab.ShouldAddBOS);

        // :: Step 2. Placeholders use private-use characters no template rewrites (templates only trim whitespace).
        var placeholders = new string[messages.Count];
        var masked = new List<ChatMessage>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            placeholders[i] = $"\uE000{i}\uE001";
            masked.Add(messages[i] with { Content = placeholders[i] });
        }
        var skeleton = RenderChat(masked);
        var tokens = new List<LLamaToken>();
        var at = 0;
        var addBos = _vocab.ShouldAddBOS;
        for (var i = 0; i < messages.Count; i++)
        {
            var found = skeleton.IndexOf(placeholders[i], at, StringComparison.Ordinal);
            if (found < 0)
                continue; // The template dropped this message (some drop an empty system turn); so does the real rendering.
            if (found > at || addBos)
                tokens.AddRange(TokenizeInternal(skeleton[at..found], addBos));
            addBos = false;
            tokens.AddRange(_model.Tokenize(messages[i].Content, false, special: messages[i].ContentIsMarkup, Encoding.UTF8));
            at = found + placeholders[i].Length;
        }
        if (at < skeleton.Length)
            tokens.AddRange(TokenizeInternal(skeleton[at..], false));
        return [.. tokens];
    }

    /// <summary>
    /// A chat with images, as <see cref="TokenizeChat"/> always splits it (the template's markup with special parsing,
    /// each content without unless it is the platform's markup), with each content cut at its
    /// <see cref="ChatMessage.ImagePlaceholder"/>s: between the text pieces, each image becomes a part tokenised by
    /// llama.cpp's multimodal library (which decodes the image file and cuts it into the projector's tiles).
    /// </summary>
    /// <exception cref="SovereignException">400: the model has no vision projector, the placeholders and images do not
    /// match, or an image cannot be decoded.</exception>
    internal IReadOnlyList<PromptPart> TokenizeChatWithImages(IReadOnlyList<ChatMessage> messages)
    {
        if (_vision is null)
            throw SovereignException.Invalid("This model was not imported with a vision projector, so it cannot take images.", "messages", "images_not_supported");
        var placeholders = new string[messages.Count];
        var masked = new List<ChatMessage>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            placeholders[i] = $"\uE000{i}\uE001";
            masked.Add(messages[i] with { Content = placeholders[i], Images = null });
        }
        var skeleton = RenderChat(masked);
        var parts = new List<PromptPart>();
        var text = new List<LLamaToken>();
        try
        {
            var at = 0;
            var addBos = _vocab.ShouldAddBOS;
            for (var i = 0; i < messages.Count; i++)
            {
                var found = skeleton.IndexOf(placeholders[i], at, StringComparison.Ordinal);
                if (found < 0)
                    continue;
                if (found > at || addBos)
                    text.AddRange(TokenizeInternal(skeleton[at..found], addBos));
                addBos = false;
                var m = messages[i];
                var images = m.Images ?? [];
                string[] pieces = images.Count == 0 ? [m.Content] : m.Content.Split(ChatMessage.ImagePlaceholder);
                if (pieces.Length - 1 != images.Count)
                {
                    throw SovereignException.Invalid(
                        $"Message {i} has {images.Count} image(s) but {pieces.Length - 1} image place(s) in its text.", $"messages[{i}]", "invalid_images");
                }
                for (var k = 0; k < pieces.Length; k++)
                {
                    if (pieces[k].Length > 0)
                        text.AddRange(_model.Tokenize(pieces[k], false, special: m.ContentIsMarkup, Encoding.UTF8));
                    if (k == images.Count) break;
                    foreach (var part in ImageParts(images[k], $"messages[{i}]"))
                    {
                        if (part.Tokens is { } own)
                        {
                            text.AddRange(own);
                            continue;
                        }
                        if (text.Count > 0) parts.Add(new PromptPart([.. text], null, 0, 0));
                        text.Clear();
                        parts.Add(part);
                    }
                }
                at = found + placeholders[i].Length;
            }
            if (at < skeleton.Length)
                text.AddRange(TokenizeInternal(skeleton[at..], false));
            if (text.Count > 0) parts.Add(new PromptPart([.. text], null, 0, 0));
            return parts;
        }
        catch
        {
            foreach (var part in parts) part.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One image as the multimodal library tokenises it: its image chunk, and any text chunks the projector's model family
    /// puts around an image (begin/end-of-image tokens). Text that is only an artefact of tokenising the marker on its own
    /// (a space prefix, a NUL byte that LLamaSharp 0.30 passes along) is dropped, so an image costs its image tokens.
    /// </summary>
    private List<PromptPart> ImageParts(ReadOnlyMemory<byte> image, string param)
    {
        lock (_visionGate)
        {
            SafeMtmdEmbed? bitmap;
            try
            {
                bitmap = _vision!.LoadMedia(image.Span);
            }
            catch (Exception e) when (e is RuntimeError or InvalidOperationException or ArgumentException)
            {
                bitmap = null;
            }
            if (bitmap is null)
                throw SovereignException.Invalid($"'{param}': the image could not be decoded (PNG, JPEG, BMP, GIF, TGA and PNM are read).", param, "invalid_image");
            SafeMtmdInputChunks? chunks;
            int result;
            using (bitmap)
                result = _vision!.Tokenize(MtmdContextParams.Default().MediaMarker ?? "<__media__>", false, true, [bitmap], out chunks);
            if (result != 0 || chunks is null)
            {
                chunks?.Dispose();
                throw SovereignException.Invalid($"'{param}': the vision projector could not take the image (error {result}).", param, "invalid_image");
            }
            var parts = new List<PromptPart>();
            var owner = true;
            ulong index = 0;
            foreach (var chunk in chunks.Enumerate())
            {
                if (chunk.Type == SafeMtmdInputChunk.SafeMtmdInputChunkType.Text)
                {
                    var tokens = chunk.GetTextTokensSpan().ToArray().Select(t => (LLamaToken)t).Where(t => !IsNulByte(t)).ToArray();
                    if (tokens.Length > 0 && !string.IsNullOrWhiteSpace(Detokenize([.. tokens.Select(t => (int)t)])))
                        parts.Add(new PromptPart(tokens, null, 0, 0));
                }
                else
                {
                    // Every image part of this image refers to the one chunk list; the first owns (disposes) it.
                    parts.Add(new PromptPart(null, chunks, checked((int)Math.Max(chunk.NTokens, (ulong)Math.Max(0, chunk.NPos))), index) { OwnsImage = owner });
                    owner = false;
                }
                index++;
            }
            if (owner) chunks.Dispose();
            return parts;
        }
    }

    private bool IsNulByte(LLamaToken token)
    {
        Span<byte> piece = stackalloc byte[8];
        var n = (int)_model.TokenToSpan(token, piece);
        return n == 1 && piece[0] == 0;
    }

    /// <summary>Whether parsing special tokens in <paramref name="text"/> finds any (a control or user-defined token).</summary>
    private bool HasSpecialToken(string text)
    {
        if (text.Length == 0)
            return false;
        var withSpecial = _model.Tokenize(text, false, special: true, Encoding.UTF8);
        var without = _model.Tokenize(text, false, special: false, Encoding.UTF8);
        return !withSpecial.AsSpan().SequenceEqual(without);
    }

    private LLamaToken[] TokenizeInternal(string text, bool addBos)
    {
        var tokens = _model.Tokenize(text, addBos, special: true, Encoding.UTF8);
        // A template that writes the BOS text itself plus add_bos would give two; keep one, as llama.cpp's server warns.
        if (addBos && tokens.Length >= 2 && _vocab.BOS is { } bos && tokens[0] == bos && tokens[1] == bos)
            tokens = tokens[1..];
        return tokens;
    }

    private bool TryReserve()
    {
        var limit = Slots + _queueLimit;
        while (true)
        {
            var current = Volatile.Read(ref _outstanding);
            if (current >= limit)
                return false;
            if (Interlocked.CompareExchange(ref _outstanding, current + 1, current) == current)
                return true;
        }
    }

    private void OnCancelled(EngineRequest request)
    {
        if (request.MarkCancelled())
        {
            Interlocked.Increment(ref _cancellations);
            SignalLoop();
        }
    }

    private void SignalLoop()
    {
        try
        {
            _wake.Set();
        }
        catch (ObjectDisposedException)
        {
            // The engine is gone; nothing left to wake.
        }
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
            throw new SovereignException(ErrorKind.Unavailable, "The engine has been shut down.", code: "engine_stopped");
    }

    /// <summary>Stops the loop (failing what is still running or queued), then frees the context and the model.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _stopping = true;
        _incoming.Writer.TryComplete();
        _running.Set();
        _wake.Set();
        if (Thread.CurrentThread != _thread)
            _thread.Join();
        DisposeEmbedder();
        _vision?.Dispose();
        DisposeReranker();
        _context.Dispose();
        if (_weights is not null) _weights.Dispose();
        else _model.Dispose();
        _wake.Dispose();
        _running.Dispose();
        _parked.Dispose();
    }

    private static long Now() => Stopwatch.GetTimestamp();
}
