using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Cluster.Wire;

public enum NodeEventKind
{
    Started,
    Text,
    Finished,
    Failed,
    /// <summary>The node refused the request before it started (the engine threw): the caller rethrows it as it is.</summary>
    Refused,
    /// <summary>Nothing happened yet (the node is still copying the model); keeps each batch of the stream within the call timeout.</summary>
    KeepAlive,
}

/// <summary>
/// One <see cref="GenerationEvent"/> (or a refusal) as it travels between nodes: a flat record, so Orleans' generated
/// serializer is the only code that reads it. Errors cross as data, never as serialized exceptions. Immutable.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeEvent
{
    [Id(0)] public NodeEventKind Kind { get; init; }
    [Id(1)] public string? Text { get; init; }
    /// <summary>Started: prompt tokens. Text: tokens the text covers.</summary>
    [Id(2)] public int Tokens { get; init; }
    [Id(3)] public FinishReason Reason { get; init; }
    [Id(4)] public int PromptTokens { get; init; }
    [Id(5)] public int CompletionTokens { get; init; }
    [Id(6)] public TimeSpan PromptTime { get; init; }
    [Id(7)] public TimeSpan DecodeTime { get; init; }
    [Id(8)] public ErrorKind ErrorKind { get; init; }
    [Id(9)] public string? Code { get; init; }
    [Id(10)] public string? Param { get; init; }
    [Id(11)] public TimeSpan? RetryAfter { get; init; }

    public static NodeEvent From(GenerationEvent e) => e switch
    {
        GenerationEvent.Started s => new() { Kind = NodeEventKind.Started, Tokens = s.PromptTokens },
        GenerationEvent.TextDelta d => new() { Kind = NodeEventKind.Text, Text = d.Text, Tokens = d.Tokens },
        GenerationEvent.Finished f => new()
        {
            Kind = NodeEventKind.Finished,
            Reason = f.Reason,
            PromptTokens = f.Usage.PromptTokens,
            CompletionTokens = f.Usage.CompletionTokens,
            PromptTime = f.Usage.PromptTime,
            DecodeTime = f.Usage.DecodeTime,
        },
        GenerationEvent.Failed x => new() { Kind = NodeEventKind.Failed, ErrorKind = x.Kind, Text = x.Message, Code = x.Code },
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "Unknown generation event."),
    };

    public static readonly NodeEvent KeepAlive = new() { Kind = NodeEventKind.KeepAlive };

    public static NodeEvent Refusal(SovereignException e) => new()
    {
        Kind = NodeEventKind.Refused,
        ErrorKind = e.Kind,
        Text = e.Message,
        Code = e.Code,
        Param = e.Param,
        RetryAfter = e.RetryAfter,
    };

    /// <summary>The event; a refusal is thrown as the <see cref="SovereignException"/> it was on the node.</summary>
    public GenerationEvent ToEvent() => Kind switch
    {
        NodeEventKind.Started => new GenerationEvent.Started(Tokens),
        NodeEventKind.Text => new GenerationEvent.TextDelta(Text ?? "", Tokens),
        NodeEventKind.Finished => new GenerationEvent.Finished(Reason, new GenerationUsage(PromptTokens, CompletionTokens, PromptTime, DecodeTime)),
        NodeEventKind.Failed => new GenerationEvent.Failed(ErrorKind, Text ?? "", Code),
        NodeEventKind.Refused => throw new SovereignException(ErrorKind, Text ?? "The node refused the request.", Param, Code) { RetryAfter = RetryAfter },
        _ => throw new SovereignException(Core.Errors.ErrorKind.Internal, $"A node sent an unknown event kind {(int)Kind}."),
    };
}
