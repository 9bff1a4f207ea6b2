using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Sovereign.Server.Errors;

namespace Sovereign.Server.OpenAi;

/// <summary>
/// Writes server-sent events as OpenAI does: <c>data: {json}\n\n</c> per event, flushed at once, and
/// <c>data: [DONE]\n\n</c> at the end. Owns no stream; not thread-safe (one per response).
/// </summary>
internal sealed class SseWriter(Stream body)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    private readonly ArrayBufferWriter<byte> _buffer = new(1024);

    public async ValueTask WriteAsync<T>(T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        _buffer.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(_buffer))
        {
            JsonSerializer.Serialize(json, value, typeInfo);
        }
        _buffer.Write(EventEnd);
        await body.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        await body.FlushAsync(cancellationToken);
    }

    public ValueTask WriteErrorAsync(OpenAiError error, CancellationToken cancellationToken) =>
        WriteAsync(new OpenAiErrorResponse(error), ServerJsonContext.Default.OpenAiErrorResponse, cancellationToken);

    public async ValueTask WriteDoneAsync(CancellationToken cancellationToken)
    {
        await body.WriteAsync(Done, cancellationToken);
        await body.FlushAsync(cancellationToken);
    }
}
