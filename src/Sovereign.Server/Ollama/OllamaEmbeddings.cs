using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Sovereign.Core.Embeddings;
using Sovereign.Core.Errors;
using Sovereign.Inference.Embeddings;

namespace Sovereign.Server.Ollama;

/// <summary>
/// <c>POST /api/embed</c> (input: a string or an array of strings; embeddings, L2-normalised) and the older
/// <c>POST /api/embeddings</c> (prompt: one string; embedding). As in Ollama, <c>truncate</c> defaults to true (an
/// input longer than the model reads is cut; false makes it a 400), and empty input answers no vectors
/// (a way to load the model) instead of an error. Thread-safe.
/// </summary>
internal sealed class OllamaEmbeddingsHandler(IEmbeddingService embeddings, TimeProvider time)
{
    /// <summary><c>POST /api/embed</c>.</summary>
    public async Task EmbedAsync(HttpContext context)
    {
        var received = time.GetTimestamp();
        var body = await JsonBody.ReadAsync(context.Request, OllamaEmbedJsonContext.Default.OllamaEmbedRequest);
        var model = RequireModel(body.Model);
        var inputs = MapInput(body.Input);
        if (body.Dimensions is <= 0)
            throw SovereignException.Invalid($"dimensions must be a positive integer (got {body.Dimensions})", "dimensions", "invalid_value");

        var batch = await EmbedAsync(model, inputs, body.Truncate ?? true, context.RequestAborted);
        if (body.Dimensions is { } wanted && batch.Vectors.Count > 0 && wanted != batch.Dimensions)
        {
            throw SovereignException.Invalid($"model '{batch.Model}' produces {batch.Dimensions}-dimensional vectors and cannot shorten them (dimensions {wanted})",
                "dimensions", "unsupported_value");
        }

        var response = new OllamaEmbedResponse(batch.Model, batch.Vectors, OllamaFormat.Nanoseconds(time.GetElapsedTime(received)), 0, batch.PromptTokens);
        await context.Response.WriteAsJsonAsync(response, OllamaEmbedJsonContext.Default.OllamaEmbedResponse, "application/json; charset=utf-8", context.RequestAborted);
    }

    /// <summary><c>POST /api/embeddings</c>, Ollama's first embeddings endpoint: one prompt, one vector.</summary>
    public async Task EmbeddingsAsync(HttpContext context)
    {
        var body = await JsonBody.ReadAsync(context.Request, OllamaEmbedJsonContext.Default.OllamaEmbeddingsRequest);
        var model = RequireModel(body.Model);
        string[] inputs = string.IsNullOrEmpty(body.Prompt) ? [] : [body.Prompt];
        var batch = await EmbedAsync(model, inputs, truncate: true, context.RequestAborted);
        var response = new OllamaEmbeddingsResponse(batch.Vectors.Count == 0 ? [] : batch.Vectors[0]);
        await context.Response.WriteAsJsonAsync(response, OllamaEmbedJsonContext.Default.OllamaEmbeddingsResponse, "application/json; charset=utf-8", context.RequestAborted);
    }

    private async Task<EmbeddingBatch> EmbedAsync(string model, IReadOnlyList<string> inputs, bool truncate, CancellationToken ct)
    {
        try
        {
            if (inputs.Count == 0)
            {
                // Ollama answers empty input with no vectors; the model must still exist, so check it with one word.
                var probe = await EmbedOnceAsync(model, ["x"], truncate, ct);
                return probe with { Vectors = [], PromptTokens = 0 };
            }
            return await EmbedOnceAsync(model, inputs, truncate, ct);
        }
        catch (SovereignException e) when (e.Kind == ErrorKind.NotFound && e.Code == "model_not_found")
        {
            throw OllamaErrors.ModelNotFound(model);
        }
    }

    private Task<EmbeddingBatch> EmbedOnceAsync(string model, IReadOnlyList<string> inputs, bool truncate, CancellationToken ct) =>
        embeddings is EmbeddingService service
            ? service.EmbedAsync(model, inputs, truncate, ct)
            : embeddings.EmbedAsync(model, inputs, ct);

    private static string RequireModel(string? model) =>
        string.IsNullOrWhiteSpace(model) ? throw OllamaErrors.ModelRequired() : model;

    /// <summary>A string or an array of strings; empty strings are dropped, as Ollama does.</summary>
    private static List<string> MapInput(JsonElement? input)
    {
        var texts = new List<string>();
        if (input is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            return texts;
        if (element.ValueKind == JsonValueKind.String)
        {
            if (element.GetString() is { Length: > 0 } text) texts.Add(text);
            return texts;
        }
        if (element.ValueKind != JsonValueKind.Array)
            throw SovereignException.Invalid("invalid input type: input must be a string or an array of strings", "input", "invalid_type");
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                throw SovereignException.Invalid("invalid input type: input must be a string or an array of strings", "input", "invalid_type");
            if (item.GetString() is { Length: > 0 } text) texts.Add(text);
        }
        return texts;
    }
}

internal sealed class OllamaEmbedRequest
{
    public string? Model { get; set; }
    public JsonElement? Input { get; set; }
    public bool? Truncate { get; set; }
    public int? Dimensions { get; set; }
    public JsonElement? Options { get; set; }
    public JsonElement? KeepAlive { get; set; }
}

internal sealed class OllamaEmbeddingsRequest
{
    public string? Model { get; set; }
    public string? Prompt { get; set; }
    public JsonElement? Options { get; set; }
    public JsonElement? KeepAlive { get; set; }
}

internal sealed record OllamaEmbedResponse(string Model, IReadOnlyList<float[]> Embeddings, long TotalDuration, long LoadDuration, int PromptEvalCount);

internal sealed record OllamaEmbeddingsResponse(float[] Embedding);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OllamaEmbedRequest))]
[JsonSerializable(typeof(OllamaEmbeddingsRequest))]
[JsonSerializable(typeof(OllamaEmbedResponse))]
[JsonSerializable(typeof(OllamaEmbeddingsResponse))]
internal sealed partial class OllamaEmbedJsonContext : JsonSerializerContext;
