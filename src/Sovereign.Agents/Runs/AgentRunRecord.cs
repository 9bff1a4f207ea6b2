using Sovereign.Agents.Definitions;

namespace Sovereign.Agents.Runs;

/// <summary>Where a run is: running, waiting for a person, or finished one of four ways.</summary>
public static class RunStatus
{
    public const string Running = "running";
    public const string AwaitingApproval = "awaiting_approval";
    public const string Completed = "completed";
    public const string LimitReached = "limit_reached";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static bool IsFinished(string status) => status is Completed or LimitReached or Failed or Cancelled;
}

/// <summary>Why a run stopped: the answer, a named limit, an error, or cancellation.</summary>
public static class StopReason
{
    public const string Answer = "answer";
    public const string MaxSteps = "max_steps";
    public const string MaxWallTime = "max_wall_seconds";
    public const string MaxTokens = "max_tokens";
    public const string MaxToolTime = "max_tool_seconds";
    public const string ApprovalTimeout = "approval_timeout";
    public const string Error = "error";
    public const string Cancelled = "cancelled";
    /// <summary>The server stopped or crashed during the run; runs do not resume, so it is marked failed.</summary>
    public const string Interrupted = "interrupted";
}

/// <summary>One run of an agent: its input, the definition it ran with, where it is and what it has used. Immutable.</summary>
public sealed record AgentRunRecord
{
    public required string Id { get; init; }
    public required string AgentId { get; init; }
    public required string Status { get; init; }
    public string? StopReason { get; init; }
    public required string Input { get; init; }
    public string? Answer { get; init; }
    public string? Error { get; init; }
    public required AgentDefinition Definition { get; init; }
    public int Steps { get; init; }
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
    public long ToolMilliseconds { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
}

/// <summary>
/// One entry of a run's trace: a model call (<see cref="Kind"/> "model": prompt size, tokens, what it produced) or a
/// tool call ("tool": tool, arguments, a summary of the result, approval). Durations in milliseconds.
/// </summary>
public sealed record RunTraceStep
{
    public const string ModelKind = "model";
    public const string ToolKind = "tool";

    public required int Seq { get; init; }
    public required string Kind { get; init; }
    /// <summary>The model step (1-based) this entry belongs to.</summary>
    public required int Step { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public long DurationMs { get; init; }

    // Model calls.
    public int? PromptTokens { get; init; }
    public int? PromptChars { get; init; }
    public int? CompletionTokens { get; init; }
    public string? ToolChoice { get; init; }
    /// <summary>The start of what the model wrote (at most 500 characters).</summary>
    public string? Output { get; init; }
    public IReadOnlyList<string>? ToolCalls { get; init; }

    // Tool calls.
    public string? CallId { get; init; }
    public string? Tool { get; init; }
    public string? Arguments { get; init; }
    /// <summary>The start of the result (at most 500 characters) and its full length.</summary>
    public string? Result { get; init; }
    public int? ResultChars { get; init; }
    public bool? IsError { get; init; }
    /// <summary>approved, rejected or null when the tool needs no approval.</summary>
    public string? Approval { get; init; }

    public const int SummaryChars = 500;

    public static string Summarize(string text) => text.Length <= SummaryChars ? text : text[..SummaryChars] + "…";
}
