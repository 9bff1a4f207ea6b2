using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Sovereign.Core.Generation;

namespace Sovereign.Server.OpenAi;

/// <summary>
/// How one response is shaped on the wire: chat (<c>chat.completion</c> / <c>chat.completion.chunk</c>) or text
/// (<c>text_completion</c>). Holds what every chunk repeats (id, created, model, fingerprint). Immutable.
/// </summary>
internal abstract class ResponseFormat(string id, long created, string model, string systemFingerprint)
{
    public string Id { get; } = id;
    public long Created { get; } = created;
    public string Model { get; } = model;
    public string SystemFingerprint { get; } = systemFingerprint;

    /// <summary>The whole non-streamed response.</summary>
    public abstract Task WriteCompleteAsync(HttpResponse response, string text, FinishReason reason, GenerationUsage usage, CancellationToken cancellationToken);

    /// <summary>What a stream sends before the first token (chat: the assistant role).</summary>
    public abstract ValueTask WriteOpeningAsync(SseWriter sse, CancellationToken cancellationToken);

    public abstract ValueTask WriteDeltaAsync(SseWriter sse, string text, CancellationToken cancellationToken);

    /// <summary>The chunk that carries finish_reason.</summary>
    public abstract ValueTask WriteFinishAsync(SseWriter sse, FinishReason reason, CancellationToken cancellationToken);

    /// <summary>The stream_options.include_usage chunk: no choices, only usage.</summary>
    public abstract ValueTask WriteUsageAsync(SseWriter sse, GenerationUsage usage, CancellationToken cancellationToken);

    public static string FinishReasonText(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        _ => "stop",
    };

    public static Usage UsageOf(GenerationUsage usage) => new(usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens);

    /// <summary>Identifies what produced the output: the model's blob (its first 12 hex digits).</summary>
    public static string FingerprintOf(string digest)
    {
        var hex = digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest[7..] : digest;
        return "fp_" + hex[..Math.Min(12, hex.Length)];
    }

    /// <summary>An OpenAI-style response id: <paramref name="prefix"/>- and 29 random base62 characters.</summary>
    public static string NewId(string prefix) =>
        $"{prefix}-{RandomNumberGenerator.GetString("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 29)}";
}

internal sealed class ChatResponseFormat(string id, long created, string model, string systemFingerprint)
    : ResponseFormat(id, created, model, systemFingerprint)
{
    public const string IdPrefix = "chatcmpl";

    public override Task WriteCompleteAsync(HttpResponse response, string text, FinishReason reason, GenerationUsage usage, CancellationToken cancellationToken)
    {
        var completion = new ChatCompletion(Id, "chat.completion", Created, Model,
            [new ChatChoice(0, new ChatMessageOutput("assistant", text, Refusal: null), Logprobs: null, FinishReasonText(reason))],
            UsageOf(usage), SystemFingerprint);
        return response.WriteAsJsonAsync(completion, ServerJsonContext.Default.ChatCompletion, cancellationToken: cancellationToken);
    }

    public override ValueTask WriteOpeningAsync(SseWriter sse, CancellationToken cancellationToken) =>
        WriteChunkAsync(sse, new ChatDelta("assistant", ""), null, cancellationToken);

    public override ValueTask WriteDeltaAsync(SseWriter sse, string text, CancellationToken cancellationToken) =>
        WriteChunkAsync(sse, new ChatDelta(null, text), null, cancellationToken);

    public override ValueTask WriteFinishAsync(SseWriter sse, FinishReason reason, CancellationToken cancellationToken) =>
        WriteChunkAsync(sse, new ChatDelta(null, null), FinishReasonText(reason), cancellationToken);

    public override ValueTask WriteUsageAsync(SseWriter sse, GenerationUsage usage, CancellationToken cancellationToken) =>
        sse.WriteAsync(new ChatCompletionChunk(Id, "chat.completion.chunk", Created, Model, SystemFingerprint, [], UsageOf(usage)),
            ServerJsonContext.Default.ChatCompletionChunk, cancellationToken);

    private ValueTask WriteChunkAsync(SseWriter sse, ChatDelta delta, string? finishReason, CancellationToken cancellationToken) =>
        sse.WriteAsync(new ChatCompletionChunk(Id, "chat.completion.chunk", Created, Model, SystemFingerprint,
            [new ChatChunkChoice(0, delta, Logprobs: null, finishReason)], Usage: null), ServerJsonContext.Default.ChatCompletionChunk, cancellationToken);
}

internal sealed class TextResponseFormat(string id, long created, string model, string systemFingerprint)
    : ResponseFormat(id, created, model, systemFingerprint)
{
    public const string IdPrefix = "cmpl";

    public override Task WriteCompleteAsync(HttpResponse response, string text, FinishReason reason, GenerationUsage usage, CancellationToken cancellationToken)
    {
        var completion = new TextCompletion(Id, "text_completion", Created, Model, SystemFingerprint,
            [new TextChoice(text, 0, Logprobs: null, FinishReasonText(reason))], UsageOf(usage));
        return response.WriteAsJsonAsync(completion, ServerJsonContext.Default.TextCompletion, cancellationToken: cancellationToken);
    }

    public override ValueTask WriteOpeningAsync(SseWriter sse, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override ValueTask WriteDeltaAsync(SseWriter sse, string text, CancellationToken cancellationToken) =>
        WriteChunkAsync(sse, text, null, cancellationToken);

    public override ValueTask WriteFinishAsync(SseWriter sse, FinishReason reason, CancellationToken cancellationToken) =>
        WriteChunkAsync(sse, "", FinishReasonText(reason), cancellationToken);

    public override ValueTask WriteUsageAsync(SseWriter sse, GenerationUsage usage, CancellationToken cancellationToken) =>
        sse.WriteAsync(new TextCompletion(Id, "text_completion", Created, Model, SystemFingerprint, [], UsageOf(usage)),
            ServerJsonContext.Default.TextCompletion, cancellationToken: cancellationToken);

    private ValueTask WriteChunkAsync(SseWriter sse, string text, string? finishReason, CancellationToken cancellationToken) =>
        sse.WriteAsync(new TextCompletion(Id, "text_completion", Created, Model, SystemFingerprint,
            [new TextChoice(text, 0, Logprobs: null, finishReason)], Usage: null), ServerJsonContext.Default.TextCompletion, cancellationToken: cancellationToken);
}
