using Sovereign.Core.Errors;

namespace Sovereign.Core.Generation;

/// <summary>
/// One message of a chat, already mapped from whatever wire format it arrived in. Its content is tokenised as plain
/// text: a user who types <c>&lt;|im_start|&gt;</c> gets those characters, never the control token.
/// </summary>
public sealed record ChatMessage(string Role, string Content)
{
    /// <summary>
    /// The content is markup the platform wrote itself (an assistant turn's tool calls in the model family's format,
    /// which may use control tokens such as Mistral's <c>[TOOL_CALLS]</c>), so special tokens in it are parsed.
    /// Never set for text that came from a client, a tool or a document.
    /// </summary>
    public bool ContentIsMarkup { get; init; }

    /// <summary>
    /// Images of this message, each an encoded file (PNG, JPEG, BMP, …), for a model loaded with a vision projector.
    /// Each sits where <see cref="ImagePlaceholder"/> appears in <see cref="Content"/>, in order: there must be exactly
    /// as many placeholders as images. Null or empty: the placeholder character is plain text.
    /// </summary>
    public IReadOnlyList<ReadOnlyMemory<byte>>? Images { get; init; }

    /// <summary>U+FFFC OBJECT REPLACEMENT CHARACTER: where an image sits in a message's content.</summary>
    public const char ImagePlaceholder = '\uFFFC';
}

/// <summary>
/// Sampling settings of one request. Defaults follow OpenAI's: temperature 1, top_p 1, no top_k, no min_p.
/// Temperature 0 means greedy decoding. Immutable.
/// </summary>
public sealed record SamplingParameters
{
    public float Temperature { get; init; } = 1.0f;
    public float TopP { get; init; } = 1.0f;
    /// <summary>0 disables top-k.</summary>
    public int TopK { get; init; }
    /// <summary>0 disables min-p.</summary>
    public float MinP { get; init; }
    /// <summary>Same seed, same prompt, same settings → the same output. Null picks a random seed.</summary>
    public uint? Seed { get; init; }
    public float PresencePenalty { get; init; }
    public float FrequencyPenalty { get; init; }
    /// <summary>llama.cpp's multiplicative repeat penalty; 1 disables it.</summary>
    public float RepeatPenalty { get; init; } = 1.0f;

    public static SamplingParameters Greedy { get; } = new() { Temperature = 0 };

    /// <summary>Every out-of-range value, each naming its field; empty when valid.</summary>
    public IReadOnlyList<(string Param, string Message)> Validate()
    {
        var errors = new List<(string, string)>();
        if (!float.IsFinite(Temperature) || Temperature < 0 || Temperature > 2)
            errors.Add(("temperature", $"temperature must be between 0 and 2, got {Temperature}."));
        if (!float.IsFinite(TopP) || TopP <= 0 || TopP > 1)
            errors.Add(("top_p", $"top_p must be greater than 0 and at most 1, got {TopP}."));
        if (TopK < 0 || TopK > 100_000)
            errors.Add(("top_k", $"top_k must be between 0 and 100000, got {TopK}."));
        if (!float.IsFinite(MinP) || MinP < 0 || MinP > 1)
            errors.Add(("min_p", $"min_p must be between 0 and 1, got {MinP}."));
        if (!float.IsFinite(PresencePenalty) || PresencePenalty < -2 || PresencePenalty > 2)
            errors.Add(("presence_penalty", $"presence_penalty must be between -2 and 2, got {PresencePenalty}."));
        if (!float.IsFinite(FrequencyPenalty) || FrequencyPenalty < -2 || FrequencyPenalty > 2)
            errors.Add(("frequency_penalty", $"frequency_penalty must be between -2 and 2, got {FrequencyPenalty}."));
        if (!float.IsFinite(RepeatPenalty) || RepeatPenalty <= 0 || RepeatPenalty > 10)
            errors.Add(("repeat_penalty", $"repeat_penalty must be greater than 0 and at most 10, got {RepeatPenalty}."));
        return errors;
    }

    /// <summary>Throws a 400 naming the first bad field (all of them in the message) when invalid.</summary>
    public void EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0)
            throw SovereignException.Invalid(string.Join(" ", errors.Select(e => e.Message)), errors[0].Param);
    }
}

/// <summary>
/// What the API layer asks of the engine, free of any wire format. Exactly one of <see cref="Prompt"/>
/// (raw completion) or <see cref="Messages"/> (chat, rendered with the model's template) is set. Immutable.
/// </summary>
public sealed record GenerationRequest
{
    public required string Id { get; init; }
    /// <summary>The model reference as the client named it (name:tag or digest).</summary>
    public required string Model { get; init; }
    public string? Prompt { get; init; }
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    /// <summary>Upper bound on generated tokens; null means "until stop or the context is full".</summary>
    public int? MaxTokens { get; init; }

    /// <summary>
    /// A <see cref="MaxTokens"/> that does not fit the context beside the prompt is lowered to what fits instead of
    /// refused (Ollama's num_predict, whose client cannot know the prompt's length). The completion then ends with
    /// <see cref="FinishReason.Length"/> when the context is full.
    /// </summary>
    public bool ClampMaxTokens { get; init; }

    /// <summary>
    /// Most tokens of prompt and completion together for this request (Ollama's num_ctx), when smaller than the
    /// engine's own context; null for the engine's. A prompt that alone reaches it is refused with
    /// <c>context_length_exceeded</c> naming the parameter <see cref="ContextLimitParam"/>.
    /// </summary>
    public int? ContextLimit { get; init; }

    /// <summary>The parameter an engine refusal names when <see cref="ContextLimit"/>, not the model, was too small.</summary>
    public const string ContextLimitParam = "context_limit";
    public IReadOnlyList<string> Stop { get; init; } = [];
    public SamplingParameters Sampling { get; init; } = new();
    /// <summary>Keep generating past end-of-sequence (benchmarks need fixed lengths).</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>
    /// How long the model stays loaded after this request (Ollama's keep_alive): null = the configured default,
    /// zero = unload as soon as it is idle, negative = keep loaded until evicted or unloaded.
    /// </summary>
    public TimeSpan? KeepAlive { get; init; }

    /// <summary>The tenant the request is for; the engine shares its queue fairly between tenants. Null: the default tenant.</summary>
    public string? TenantId { get; init; }

    /// <summary>The tenant's share under load relative to other tenants (weighted fair queuing); at least 1. Default 1.</summary>
    public int TenantWeight { get; init; } = 1;

    /// <summary>
    /// A llama.cpp GBNF grammar the output must match (structured output, forced tool calls); null for free text.
    /// Generation ends when the grammar is complete. An invalid grammar is a 400 before anything is queued.
    /// </summary>
    public string? Grammar { get; init; }

    /// <summary>The grammar's start rule; null means <c>root</c>.</summary>
    public string? GrammarRoot { get; init; }
}
