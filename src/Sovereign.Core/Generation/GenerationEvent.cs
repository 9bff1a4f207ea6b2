using Sovereign.Core.Errors;

namespace Sovereign.Core.Generation;

public enum FinishReason
{
    /// <summary>End of sequence or a stop string.</summary>
    Stop,
    /// <summary>max_tokens or the context size was reached.</summary>
    Length,
}

/// <summary>Token counts and timings of one finished generation.</summary>
public sealed record GenerationUsage(int PromptTokens, int CompletionTokens, TimeSpan PromptTime, TimeSpan DecodeTime)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>
/// What a generation stream yields, in order: one <see cref="Started"/>, any number of <see cref="TextDelta"/>,
/// then exactly one of <see cref="Finished"/> or <see cref="Failed"/>.
/// </summary>
public abstract record GenerationEvent
{
    public sealed record Started(int PromptTokens) : GenerationEvent;

    /// <summary>Complete UTF-8 text (never half a character); <paramref name="Tokens"/> is how many tokens it covers.</summary>
    public sealed record TextDelta(string Text, int Tokens) : GenerationEvent;

    public sealed record Finished(FinishReason Reason, GenerationUsage Usage) : GenerationEvent;

    public sealed record Failed(ErrorKind Kind, string Message, string? Code = null) : GenerationEvent;
}
