using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Sovereign.Server.Ollama;

// Ollama's wire format (docs/api.md of ollama/ollama), property names in snake_case (OllamaJsonContext's naming
// policy). Requests are mutable classes with every field optional, so that validation (not the deserialiser) says
// what is missing; fields that take more than one JSON shape (keep_alive, options, format, think, images) stay
// JsonElement and are mapped by hand. Timestamps are RFC 3339 strings, durations nanoseconds, digests bare hex.

internal sealed class OllamaGenerateRequest
{
    public string? Model { get; set; }
    public string? Prompt { get; set; }
    public string? Suffix { get; set; }
    public string? System { get; set; }
    public string? Template { get; set; }
    public bool? Raw { get; set; }
    public bool? Stream { get; set; }
    public JsonElement? Options { get; set; }
    public JsonElement? KeepAlive { get; set; }
    public JsonElement? Format { get; set; }
    public JsonElement? Images { get; set; }
    public JsonElement? Context { get; set; }
    public JsonElement? Think { get; set; }
}

internal sealed class OllamaChatRequest
{
    public string? Model { get; set; }
    public List<OllamaMessageInput?>? Messages { get; set; }
    public bool? Stream { get; set; }
    public JsonElement? Options { get; set; }
    public JsonElement? KeepAlive { get; set; }
    public JsonElement? Format { get; set; }
    public JsonElement? Tools { get; set; }

    /// <summary>
    /// Not Ollama's: OpenAI's tool_choice ("auto", "none", "required" or a named function), so that a client can force a
    /// call, which a model that cannot choose tools by itself needs. Absent: "auto" with tools.
    /// </summary>
    public JsonElement? ToolChoice { get; set; }
    public JsonElement? Think { get; set; }
}

internal sealed class OllamaMessageInput
{
    public string? Role { get; set; }
    public JsonElement? Content { get; set; }
    public JsonElement? Images { get; set; }
    public JsonElement? ToolCalls { get; set; }
    /// <summary>On a tool message: which call it answers (newer Ollama clients send it; otherwise the calls are answered in order).</summary>
    public string? ToolName { get; set; }
}

/// <summary>/api/show, /api/delete and /api/pull name the model in "model" (current) or "name" (older clients).</summary>
internal sealed class OllamaModelRequest
{
    public string? Model { get; set; }
    public string? Name { get; set; }
    public bool? Verbose { get; set; }
    public bool? Stream { get; set; }
    public bool? Insecure { get; set; }

    public string? Reference => string.IsNullOrWhiteSpace(Model) ? Name : Model;
}

internal sealed class OllamaCopyRequest
{
    public string? Source { get; set; }
    public string? Destination { get; set; }
}

internal sealed record OllamaErrorResponse(string Error);

internal sealed record OllamaVersion(string Version);

internal sealed record OllamaModelDetails(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string ParentModel,
    string Format,
    string Family,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] IReadOnlyList<string>? Families,
    string ParameterSize,
    string QuantizationLevel);

internal sealed record OllamaModelEntry(string Name, string Model, string ModifiedAt, long Size, string Digest, OllamaModelDetails Details);

internal sealed record OllamaTagsResponse(IReadOnlyList<OllamaModelEntry> Models);

internal sealed record OllamaRunningModel(
    string Name, string Model, long Size, string Digest, OllamaModelDetails Details, string ExpiresAt, long SizeVram, int ContextLength);

internal sealed record OllamaPsResponse(IReadOnlyList<OllamaRunningModel> Models);

internal sealed record OllamaShowResponse(
    string? License,
    string Modelfile,
    string Parameters,
    string Template,
    OllamaModelDetails Details,
    JsonObject ModelInfo,
    IReadOnlyList<string> Capabilities,
    string ModifiedAt);

internal sealed record OllamaMessage(string Role, string Content)
{
    /// <summary>The calls the model made, in Ollama's shape; absent when it answered in text.</summary>
    public IReadOnlyList<OllamaToolCall>? ToolCalls { get; init; }
}

/// <summary>One tool call as Ollama sends it: the function's name and its arguments as a JSON object (no id).</summary>
internal sealed record OllamaToolCall(OllamaToolFunction Function)
{
    public static OllamaToolCall From(Sovereign.Agents.ToolCalling.ToolCall call)
    {
        JsonElement arguments;
        try
        {
            using var parsed = JsonDocument.Parse(call.Arguments);
            arguments = parsed.RootElement.Clone();
        }
        catch (JsonException)
        {
            // Not JSON (only possible without a grammar): the text as it came, for the client to judge.
            arguments = JsonSerializer.SerializeToElement(call.Arguments, OllamaJson.Context.String);
        }
        return new OllamaToolCall(new OllamaToolFunction(call.Name, arguments));
    }
}

internal sealed record OllamaToolFunction(string Name, JsonElement Arguments);

/// <summary>One streamed piece of /api/generate (also the empty-prompt load/unload answer, with done_reason).</summary>
internal sealed record OllamaGenerateChunk(
    string Model,
    string CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string Response,
    bool Done,
    string? DoneReason = null);

/// <summary>One streamed piece of /api/chat (also the empty-messages load/unload answer, with done_reason).</summary>
/// <remarks><c>tool_steps</c> (Sovereign's extension) reports a tool call an app's run made on the server, as it finishes.</remarks>
internal sealed record OllamaChatChunk(string Model, string CreatedAt, OllamaMessage Message, bool Done, string? DoneReason = null,
    IReadOnlyList<Apps.AppToolStep>? ToolSteps = null);

/// <summary>The last object of /api/generate, streamed or not: the text (empty when streamed), why it stopped, counts and timings.</summary>
internal sealed record OllamaGenerateDone(
    string Model,
    string CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string Response,
    bool Done,
    string DoneReason,
    IReadOnlyList<long>? Context,
    long TotalDuration,
    long LoadDuration,
    int PromptEvalCount,
    long PromptEvalDuration,
    int EvalCount,
    long EvalDuration);

/// <summary>The last object of /api/chat, streamed or not; not streamed, an app's tool calls are in <c>tool_steps</c>.</summary>
internal sealed record OllamaChatDone(
    string Model,
    string CreatedAt,
    OllamaMessage Message,
    bool Done,
    string DoneReason,
    long TotalDuration,
    long LoadDuration,
    int PromptEvalCount,
    long PromptEvalDuration,
    int EvalCount,
    long EvalDuration,
    IReadOnlyList<Apps.AppToolStep>? ToolSteps = null);

internal sealed record OllamaPullStatus(string Status, string? Digest = null, long? Total = null, long? Completed = null);

/// <summary>
/// Source-generated JSON for the Ollama API: snake_case names, nulls omitted unless a property says otherwise. Use
/// <see cref="OllamaJson.Context"/>, which writes text as Go does (no \u0027 for a quote, no escapes for non-ASCII).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OllamaGenerateRequest))]
[JsonSerializable(typeof(OllamaChatRequest))]
[JsonSerializable(typeof(OllamaModelRequest))]
[JsonSerializable(typeof(OllamaCopyRequest))]
[JsonSerializable(typeof(OllamaErrorResponse))]
[JsonSerializable(typeof(OllamaVersion))]
[JsonSerializable(typeof(OllamaTagsResponse))]
[JsonSerializable(typeof(OllamaPsResponse))]
[JsonSerializable(typeof(OllamaShowResponse))]
[JsonSerializable(typeof(OllamaGenerateChunk))]
[JsonSerializable(typeof(OllamaChatChunk))]
[JsonSerializable(typeof(OllamaGenerateDone))]
[JsonSerializable(typeof(OllamaChatDone))]
[JsonSerializable(typeof(OllamaPullStatus))]
internal sealed partial class OllamaJsonContext : JsonSerializerContext;

/// <summary>The Ollama API's JSON settings: those of <see cref="OllamaJsonContext"/>, with Go's lighter escaping.</summary>
internal static class OllamaJson
{
    public static OllamaJsonContext Context { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Responses are JSON, never HTML: only what JSON itself requires is escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
