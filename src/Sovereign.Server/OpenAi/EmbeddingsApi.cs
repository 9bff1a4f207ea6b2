using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sovereign.Core.Embeddings;

namespace Sovereign.Server.OpenAi;

/// <summary>
/// <c>POST /v1/embeddings</c> in OpenAI's wire format: <c>input</c> a string or an array of strings, <c>encoding_format</c>
/// <c>float</c> (default) or <c>base64</c> (little-endian float32 bytes), <c>dimensions</c> accepted only when it is
/// the model's own, <c>usage</c> with the tokens read. Token-id inputs are refused with a 400 naming the field.
/// </summary>
internal static class EmbeddingsApi
{
    public static IEndpointRouteBuilder MapEmbeddingsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/embeddings", (HttpContext context, IEmbeddingService embeddings) => HandleAsync(context, embeddings))
            .WithName("CreateEmbedding");
        return app;
    }

    private static async Task HandleAsync(HttpContext context, IEmbeddingService embeddings)
    {
        // :: Step 1: parse.
        var body = await JsonBody.ReadAsync(context.Request, EmbeddingsJsonContext.Default.EmbeddingRequest);

        // :: Step 2: check everything, reporting every problem at once.
        var problems = new RequestProblems();
        if (string.IsNullOrWhiteSpace(body.Model)) problems.Missing("model");
        var inputs = MapInput(body.Input, problems);
        var base64 = false;
        switch (body.EncodingFormat)
        {
            case null or "float":
                break;
            case "base64":
                base64 = true;
                break;
            default:
                problems.Add("encoding_format", $"Invalid value for 'encoding_format': '{body.EncodingFormat}'. Supported values are: 'float' and 'base64'.", "invalid_value");
                break;
        }
        if (body.Dimensions is <= 0)
            problems.Add("dimensions", $"Invalid value for 'dimensions': {body.Dimensions}; it must be a positive integer.", "invalid_value");
        problems.ThrowIfAny();

        // :: Step 3: embed (the service checks the model, the limits and each input).
        var batch = await embeddings.EmbedAsync(body.Model, inputs!, context.RequestAborted);

        // :: Step 4: a different vector length cannot be produced from these models (none is Matryoshka-trained).
        if (body.Dimensions is { } wanted && wanted != batch.Dimensions)
        {
            problems.Add("dimensions", $"Model '{batch.Model}' produces {batch.Dimensions}-dimensional vectors and cannot shorten them; " +
                $"omit 'dimensions' or set it to {batch.Dimensions} (got {wanted}).", "unsupported_value");
            problems.ThrowIfAny();
        }

        // :: Step 5: answer.
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.BodyWriter);
        Write(json, batch, base64);
        await json.FlushAsync(context.RequestAborted);
    }

    /// <summary>A string or a non-empty array of strings; token ids (numbers or arrays of numbers) are refused.</summary>
    internal static IReadOnlyList<string>? MapInput(JsonElement? input, RequestProblems problems)
    {
        if (input is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            problems.Missing("input");
            return null;
        }
        if (element.ValueKind == JsonValueKind.String)
            return [element.GetString()!];
        if (element.ValueKind != JsonValueKind.Array)
        {
            problems.Add("input", "Invalid type for 'input': expected a string or an array of strings.", "invalid_type");
            return null;
        }

        var texts = new List<string>(element.GetArrayLength());
        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            switch (item.ValueKind)
            {
                case JsonValueKind.String:
                    texts.Add(item.GetString()!);
                    break;
                case JsonValueKind.Number or JsonValueKind.Array:
                    problems.Unsupported("input", "Inputs given as token ids are not supported; send the text instead.");
                    return null;
                default:
                    problems.Add("input", $"Invalid type for 'input[{index}]': expected a string.", "invalid_type");
                    return null;
            }
            index++;
        }
        return texts;
    }

    private static void Write(Utf8JsonWriter json, EmbeddingBatch batch, bool base64)
    {
        json.WriteStartObject();
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        for (var i = 0; i < batch.Vectors.Count; i++)
        {
            json.WriteStartObject();
            json.WriteString("object", "embedding");
            json.WriteNumber("index", i);
            if (base64)
            {
                json.WriteBase64String("embedding", AsLittleEndianBytes(batch.Vectors[i]));
            }
            else
            {
                json.WriteStartArray("embedding");
                foreach (var value in batch.Vectors[i])
                    json.WriteNumberValue(value);
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteString("model", batch.Model);
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", batch.PromptTokens);
        json.WriteNumber("total_tokens", batch.PromptTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>OpenAI's base64 encoding is of the float32 values in little-endian order.</summary>
    private static ReadOnlySpan<byte> AsLittleEndianBytes(float[] vector)
    {
        if (BitConverter.IsLittleEndian)
            return MemoryMarshal.AsBytes(vector.AsSpan());
        var bytes = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), vector[i]);
        return bytes;
    }
}

internal sealed record EmbeddingRequest(JsonElement? Input, string? Model, string? EncodingFormat, int? Dimensions, string? User);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(EmbeddingRequest))]
internal sealed partial class EmbeddingsJsonContext : JsonSerializerContext;
