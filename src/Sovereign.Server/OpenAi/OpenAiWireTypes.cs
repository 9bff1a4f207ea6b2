using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sovereign.Server.OpenAi;

// OpenAI's wire format, property names in snake_case (ServerJsonContext's naming policy). Requests are mutable
// classes with every field optional, so that validation (not the deserialiser) reports what is missing; fields
// that take more than one JSON shape (stop, content, prompt) stay JsonElement and are mapped by hand.

/// <summary>The fields /v1/chat/completions and /v1/completions share.</summary>
internal abstract class SamplingRequestBase
{
    public string? Model { get; set; }
    public int? MaxTokens { get; set; }
    public float? Temperature { get; set; }
    public float? TopP { get; set; }
    public long? Seed { get; set; }
    public JsonElement? Stop { get; set; }
    public float? PresencePenalty { get; set; }
    public float? FrequencyPenalty { get; set; }
    public int? N { get; set; }
    public bool? Stream { get; set; }
    public StreamOptions? StreamOptions { get; set; }

    // Extensions that llama.cpp's server accepts too.
    public int? TopK { get; set; }
    public float? MinP { get; set; }
    public float? RepeatPenalty { get; set; }

    /// <summary>Keep generating past end-of-sequence (llama.cpp's ignore_eos; benchmarks need fixed lengths).</summary>
    public bool? IgnoreEos { get; set; }
}

internal sealed class StreamOptions
{
    public bool? IncludeUsage { get; set; }
}

internal sealed class ChatCompletionRequest : SamplingRequestBase
{
    public List<ChatMessageInput?>? Messages { get; set; }
    public int? MaxCompletionTokens { get; set; }

    // Accepted so they can be refused clearly instead of silently ignored.
    public JsonElement? Tools { get; set; }
    public JsonElement? ResponseFormat { get; set; }
    public bool? Logprobs { get; set; }

    /// <summary>Sovereign's extension: answer from knowledge bases with citations (see Knowledge/KnowledgeAugmenter).</summary>
    public JsonElement? Knowledge { get; set; }
}

internal sealed class ChatMessageInput
{
    public string? Role { get; set; }
    public JsonElement? Content { get; set; }
    public string? Name { get; set; }
}

internal sealed class CompletionRequest : SamplingRequestBase
{
    public JsonElement? Prompt { get; set; }
    public bool? Echo { get; set; }
    public int? BestOf { get; set; }
    public int? Logprobs { get; set; }
    public string? Suffix { get; set; }
}

internal sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens);

internal sealed record ChatCompletion(
    string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, Usage Usage, string SystemFingerprint);

internal sealed record ChatChoice(
    int Index,
    ChatMessageOutput Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] JsonElement? Logprobs,
    string FinishReason);

internal sealed record ChatMessageOutput(
    string Role,
    string Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Refusal);

internal sealed record ChatCompletionChunk(
    string Id, string Object, long Created, string Model, string SystemFingerprint, IReadOnlyList<ChatChunkChoice> Choices, Usage? Usage);

internal sealed record ChatChunkChoice(
    int Index,
    ChatDelta Delta,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] JsonElement? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

/// <summary>Absent fields are omitted, so the closing chunk's delta is <c>{}</c>.</summary>
internal sealed record ChatDelta(string? Role, string? Content);

/// <summary>Both the response and each streamed chunk of /v1/completions (OpenAI uses one shape for both).</summary>
internal sealed record TextCompletion(
    string Id, string Object, long Created, string Model, string SystemFingerprint, IReadOnlyList<TextChoice> Choices, Usage? Usage);

internal sealed record TextChoice(
    string Text,
    int Index,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] JsonElement? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

internal sealed record ModelObject(string Id, string Object, long Created, string OwnedBy);

internal sealed record ModelList(string Object, IReadOnlyList<ModelObject> Data);
