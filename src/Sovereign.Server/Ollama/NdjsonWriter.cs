using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Sovereign.Server.Ollama;

/// <summary>
/// Writes Ollama's streams: one JSON object per line (<c>application/x-ndjson</c>), each flushed at once, so a client
/// sees every token as it is generated. Owns no stream; not thread-safe (one per response).
/// </summary>
internal sealed class NdjsonWriter
{
    public const string ContentType = "application/x-ndjson";
    private const string JsonContentType = "application/json; charset=utf-8";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = OllamaJson.Context.Options.Encoder };

    private readonly Stream _body;
    private readonly bool _lines;
    private readonly ArrayBufferWriter<byte> _buffer = new(512);

    private NdjsonWriter(Stream body, bool lines)
    {
        _body = body;
        _lines = lines;
    }

    /// <summary>Starts a streamed 200 response with buffering off, and returns its writer.</summary>
    public static async Task<NdjsonWriter> StartStreamAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(cancellationToken);
        return new NdjsonWriter(response.Body, lines: true);
    }

    /// <summary>A writer for one whole JSON object (<c>stream: false</c>); the 200 status and content type are set here.</summary>
    public static NdjsonWriter Whole(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = JsonContentType;
        return new NdjsonWriter(response.Body, lines: false);
    }

    /// <summary>Either of the above: the answer to a request whose <c>stream</c> was <paramref name="stream"/>.</summary>
    public static async Task<NdjsonWriter> ForAsync(HttpContext context, bool stream, CancellationToken cancellationToken) =>
        stream ? await StartStreamAsync(context, cancellationToken) : Whole(context);

    public async ValueTask WriteAsync<T>(T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(_buffer, WriterOptions))
        {
            JsonSerializer.Serialize(json, value, typeInfo);
        }
        if (_lines) _buffer.Write("\n"u8);
        await _body.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        await _body.FlushAsync(cancellationToken);
    }

    public ValueTask WriteErrorAsync(string message, CancellationToken cancellationToken) =>
        WriteAsync(new OllamaErrorResponse(message), OllamaJson.Context.OllamaErrorResponse, cancellationToken);
}

/// <summary>Ollama's representations of times and durations. Stateless; thread-safe.</summary>
internal static class OllamaFormat
{
    /// <summary>RFC 3339 in UTC with fractional seconds, as Go writes a time.Time.</summary>
    public static string Time(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Durations are integers of nanoseconds.</summary>
    public static long Nanoseconds(TimeSpan value) => value <= TimeSpan.Zero ? 0 : value.Ticks * 100;

    /// <summary>Digests are bare hex (no "sha256:").</summary>
    public static string Digest(string digest) =>
        digest.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase) ? digest[7..] : digest;
}
