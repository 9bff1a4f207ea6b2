namespace Sovereign.Agents.Definitions;

/// <summary>
/// An agent as data: what it is told, which model it runs on, which tools it may use and the limits of one run.
/// Immutable; a run keeps a copy of the definition it started with, so editing an agent never changes a running run.
/// </summary>
public sealed record AgentDefinition
{
    public required string Name { get; init; }
    public string? Description { get; init; }

    /// <summary>The system instructions. Tool and document text never joins them; it is framed as data (see Prompting).</summary>
    public string Instructions { get; init; } = "";

    /// <summary>The model reference (name:tag) that runs the agent.</summary>
    public required string Model { get; init; }

    public IReadOnlyList<AgentToolSpec> Tools { get; init; } = [];

    /// <summary>
    /// "auto" (the model decides), "none" (no tool calls), "required" (some tool call) or a tool's name (that tool):
    /// the first step's choice. With <see cref="ResetToolChoice"/> (the default) later steps are "auto", so a forced
    /// call cannot loop forever; without it every step is forced the same way.
    /// </summary>
    public string ToolChoice { get; init; } = "auto";

    public bool ResetToolChoice { get; init; } = true;

    public AgentLimits Limits { get; init; } = new();

    /// <summary>Sampling temperature (0 = greedy). Default 0.7.</summary>
    public float Temperature { get; init; } = 0.7f;

    /// <summary>Fixes sampling for reproducible runs; null picks a random seed.</summary>
    public uint? Seed { get; init; }
}

/// <summary>One tool entry of an agent.</summary>
public sealed record AgentToolSpec
{
    /// <summary>calculator, date_time, http_request, knowledge_search or mcp.</summary>
    public required string Type { get; init; }

    /// <summary>knowledge_search: the knowledge bases (ids or names) it searches.</summary>
    public IReadOnlyList<string>? KnowledgeBases { get; init; }

    /// <summary>mcp: the server's name in <c>Sovereign:Agents:McpServers</c>.</summary>
    public string? Server { get; init; }

    /// <summary>mcp: which of the server's tools (null = all of them).</summary>
    public IReadOnlyList<string>? Tools { get; init; }

    /// <summary>
    /// http_request: the exact URLs (GET) this agent may fetch; the model chooses among them and cannot name another.
    /// Null: any URL on an allowed host, any method.
    /// </summary>
    public IReadOnlyList<string>? Urls { get; init; }

    /// <summary>Every call of this tool waits for a person to approve or reject it.</summary>
    public bool RequireApproval { get; init; }
}

/// <summary>The bounds of one run; whichever is reached first stops it, with that limit named as the reason.</summary>
public sealed record AgentLimits
{
    public const int MaxStepsCeiling = 100;
    public const int MaxWallSecondsCeiling = 3_600;
    public const int MaxTokensCeiling = 1_000_000;
    public const int MaxToolSecondsCeiling = 3_600;

    /// <summary>Model calls per run. Default 8.</summary>
    public int MaxSteps { get; init; } = 8;

    /// <summary>Wall time of the run, not counting time spent waiting for a person's approval. Default 120 s.</summary>
    public double MaxWallSeconds { get; init; } = 120;

    /// <summary>Prompt plus completion tokens over all model calls. Default 32000.</summary>
    public int MaxTokens { get; init; } = 32_000;

    /// <summary>Time spent inside tools, all calls together. Default 60 s.</summary>
    public double MaxToolSeconds { get; init; } = 60;

    /// <summary>Completion tokens one model call may generate. Default 512.</summary>
    public int MaxTokensPerStep { get; init; } = 512;
}
