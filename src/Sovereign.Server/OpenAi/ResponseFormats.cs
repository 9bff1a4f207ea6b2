using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Sovereign.Agents.ToolCalling;
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

    /// <summary>Text still held back from the stream (a possible tool call), to be written before the finish chunk.</summary>
    public virtual ValueTask FlushAsync(SseWriter sse, CancellationToken cancellationToken) => ValueTask.CompletedTask;

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

/// <summary>
/// Chat responses. With tools (<see cref="Plan"/>), the output is searched for calls: whole responses carry
/// <c>tool_calls</c> and finish_reason <c>tool_calls</c>; streams hold back text that may be the start of a call (all of
/// it when a call is forced), then send each call as OpenAI's tool-call deltas. Holds per-response state: one per request.
/// </summary>
internal sealed class ChatResponseFormat(string id, long created, string model, string systemFingerprint, ToolCallingPlan? plan = null)
    : ResponseFormat(id, created, model, systemFingerprint)
{
    public const string IdPrefix = "chatcmpl";

    private readonly System.Text.StringBuilder _held = new();
    private bool _inCall;
    private bool _sentCalls;

    public ToolCallingPlan? Plan { get; } = plan;

    private bool Watching => Plan is { Tools.Count: > 0 } p && p.Choice is not ToolChoice.NoneChoice;

    public override Task WriteCompleteAsync(HttpResponse response, string text, FinishReason reason, GenerationUsage usage, CancellationToken cancellationToken)
    {
        var message = new ChatMessageOutput("assistant", text, Refusal: null);
        var finish = FinishReasonText(reason);
        if (Watching && Plan!.ParseOutput(text) is { Calls.Count: > 0 } output)
        {
            message = new ChatMessageOutput("assistant", output.Content, Refusal: null, ToCalls(output.Calls));
            // Cut off by max_tokens, the last call may be missing: say so, as OpenAI does.
            finish = reason == FinishReason.Length ? "length" : "tool_calls";
        }
        var completion = new ChatCompletion(Id, "chat.completion", Created, Model,
            [new ChatChoice(0, message, Logprobs: null, finish)], UsageOf(usage), SystemFingerprint);
        return response.WriteAsJsonAsync(completion, ServerJsonContext.Default.ChatCompletion, cancellationToken: cancellationToken);
    }

    public override ValueTask WriteOpeningAsync(SseWriter sse, CancellationToken cancellationToken) =>
        WriteChunkAsync(sse, new ChatDelta("assistant", ""), null, cancellationToken);

    public override async ValueTask WriteDeltaAsync(SseWriter sse, string text, CancellationToken cancellationToken)
    {
        if (!Watching)
        {
            await WriteChunkAsync(sse, new ChatDelta(null, text), null, cancellationToken);
            return;
        }
        _held.Append(text);
        if (_inCall || Plan!.Choice.IsForced)
            return;
        // Send what cannot be part of a call; hold from the first place a call could be starting.
        var held = _held.ToString();
        var marker = Plan.Format.CallMarker;
        var at = held.IndexOf(marker, StringComparison.Ordinal);
        if (at >= 0)
        {
            _inCall = true;
        }
        else
        {
            at = held.Length;
            for (var k = Math.Min(marker.Length - 1, held.Length); k > 0; k--)
            {
                if (held.EndsWith(marker[..k], StringComparison.Ordinal))
                {
                    at = held.Length - k;
                    break;
                }
            }
        }
        if (at > 0)
        {
            _held.Remove(0, at);
            await WriteChunkAsync(sse, new ChatDelta(null, held[..at]), null, cancellationToken);
        }
    }

    public override async ValueTask FlushAsync(SseWriter sse, CancellationToken cancellationToken)
    {
        if (!Watching || _held.Length == 0)
            return;
        var held = _held.ToString();
        _held.Clear();
        var output = Plan!.ParseOutput(held);
        if (output.Calls.Count == 0)
        {
            await WriteChunkAsync(sse, new ChatDelta(null, held), null, cancellationToken);
            return;
        }
        if (output.Content is { Length: > 0 } content)
            await WriteChunkAsync(sse, new ChatDelta(null, content), null, cancellationToken);
        for (var i = 0; i < output.Calls.Count; i++)
        {
            var call = output.Calls[i];
            // As OpenAI streams them: the first fragment names the call, the next carry its arguments.
            await WriteChunkAsync(sse, new ChatDelta(null, null, [new ToolCallDeltaWire(i, call.Id, "function", new FunctionCallWire(call.Name, ""))]), null, cancellationToken);
            await WriteChunkAsync(sse, new ChatDelta(null, null, [new ToolCallDeltaWire(i, null, null, new FunctionCallWire(null, call.Arguments))]), null, cancellationToken);
        }
        _sentCalls = true;
    }

    public override ValueTask WriteFinishAsync(SseWriter sse, FinishReason reason, CancellationToken cancellationToken) =>
        WriteChunkAsync(sse, new ChatDelta(null, null), _sentCalls && reason != FinishReason.Length ? "tool_calls" : FinishReasonText(reason), cancellationToken);

    public override ValueTask WriteUsageAsync(SseWriter sse, GenerationUsage usage, CancellationToken cancellationToken) =>
        sse.WriteAsync(new ChatCompletionChunk(Id, "chat.completion.chunk", Created, Model, SystemFingerprint, [], UsageOf(usage)),
            ServerJsonContext.Default.ChatCompletionChunk, cancellationToken);

    private static List<ToolCallOutputWire> ToCalls(IReadOnlyList<ToolCall> calls) =>
        [.. calls.Select(c => new ToolCallOutputWire(c.Id, "function", new FunctionCallWire(c.Name, c.Arguments)))];

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
