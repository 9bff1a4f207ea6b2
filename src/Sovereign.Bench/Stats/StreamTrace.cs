namespace Sovereign.Bench.Stats;

/// <summary>
/// One generation as its client saw it, on a clock in seconds shared by every stream of a workload: when the request
/// was sent, when each piece of text arrived, and the token counts the server reported. The raw in-process baseline
/// produces the same record (one "chunk" per token), so both sides are measured by one set of definitions. Immutable.
/// </summary>
public sealed record StreamTrace
{
    /// <summary>When the request was sent (seconds on the workload's clock).</summary>
    public required double SentAt { get; init; }

    /// <summary>Arrival time of each piece of text that was not empty, in order (seconds on the same clock).</summary>
    public IReadOnlyList<double> ChunkTimes { get; init; } = [];

    /// <summary>
    /// Characters of each piece of text, beside <see cref="ChunkTimes"/>; null when every piece is one token (the
    /// in-process baselines). A server may send several tokens in one piece when they queue up, so tokens are not
    /// pieces.
    /// </summary>
    public IReadOnlyList<int>? ChunkLengths { get; init; }

    /// <summary>When the stream ended (its last event, or the failure).</summary>
    public double EndedAt { get; init; }

    /// <summary>Prompt tokens, as the server reported them (usage); null when it did not.</summary>
    public int? PromptTokens { get; init; }

    /// <summary>Generated tokens, as the server reported them (usage); null when it did not.</summary>
    public int? CompletionTokens { get; init; }

    public string? FinishReason { get; init; }

    /// <summary>Why the stream failed; null when it finished.</summary>
    public string? Error { get; init; }

    public bool Succeeded => Error is null && ChunkTimes.Count > 0;

    /// <summary>Generated tokens: the reported count, else one per piece of text.</summary>
    public int Tokens => CompletionTokens ?? ChunkTimes.Count;

    /// <summary>
    /// Tokens that arrived in (<paramref name="from"/>, <paramref name="to"/>] on the workload clock. A server does
    /// not say how many tokens each piece holds, so <see cref="Tokens"/> are shared among the pieces by their length
    /// in characters; without lengths, equally (one each when every piece is a token).
    /// </summary>
    public double TokensWithin(double from, double to)
    {
        if (ChunkTimes.Count == 0) return 0;
        var total = ChunkLengths is { } lengths && lengths.Count == ChunkTimes.Count ? lengths.Sum() : 0;
        if (total == 0) return (double)Tokens * ChunkTimes.Count(c => c > from && c <= to) / ChunkTimes.Count;
        var within = 0;
        for (var i = 0; i < ChunkTimes.Count; i++)
        {
            if (ChunkTimes[i] > from && ChunkTimes[i] <= to) within += ChunkLengths![i];
        }
        return (double)Tokens * within / total;
    }

    /// <summary>Time to first token: from sending to the first piece of text.</summary>
    public double? TtftSeconds => ChunkTimes.Count > 0 ? ChunkTimes[0] - SentAt : null;

    /// <summary>
    /// Decode rate, excluding the first piece (whose first token pays for the prompt): the tokens after it over the
    /// time from the first piece of text to the last. Null with fewer than two tokens or two pieces.
    /// </summary>
    public double? DecodeTokensPerSecond =>
        Tokens >= 2 && ChunkTimes.Count >= 2 ? Statistics.Rate(TokensWithin(ChunkTimes[0], ChunkTimes[^1]), ChunkTimes[^1] - ChunkTimes[0]) : null;

    /// <summary>Prompt tokens over the time to first token (the prompt's prefill plus the first decode step).</summary>
    public double? PromptTokensPerSecond => PromptTokens is { } p && TtftSeconds is { } t ? Statistics.Rate(p, t) : null;

    /// <summary>Gaps between consecutive pieces of text, in seconds (inter-token latency; a piece may hold several tokens).</summary>
    public IEnumerable<double> InterTokenGaps()
    {
        for (var i = 1; i < ChunkTimes.Count; i++)
            yield return ChunkTimes[i] - ChunkTimes[i - 1];
    }

    /// <summary>The gaps that ended inside [<paramref name="from"/>, <paramref name="to"/>) on the workload clock, in seconds.</summary>
    public IEnumerable<double> InterTokenGapsEndingWithin(double from, double to)
    {
        for (var i = 1; i < ChunkTimes.Count; i++)
        {
            if (ChunkTimes[i] >= from && ChunkTimes[i] < to)
                yield return ChunkTimes[i] - ChunkTimes[i - 1];
        }
    }
}
