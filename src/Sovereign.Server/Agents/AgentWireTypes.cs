using System.Text.Json.Serialization;
using Sovereign.Agents.Definitions;
using Sovereign.Agents.Runs;
using Sovereign.Agents.Storage;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Agents;

/// <summary>An agent as clients send it (POST and PUT): every field optional here so that all problems are reported together.</summary>
internal sealed class AgentInput
{
    public string? Name { get; set; }
    public string? Description { get; set; }
    public string? Instructions { get; set; }
    public string? Model { get; set; }
    public List<AgentToolInput?>? Tools { get; set; }
    public string? ToolChoice { get; set; }
    public bool? ResetToolChoice { get; set; }
    public AgentLimitsInput? Limits { get; set; }
    public float? Temperature { get; set; }
    public uint? Seed { get; set; }

    public AgentDefinition ToDefinition(RequestProblems problems)
    {
        var defaults = new AgentLimits();
        var tools = new List<AgentToolSpec>();
        for (var i = 0; i < (Tools?.Count ?? 0); i++)
        {
            if (Tools![i] is not { } t || string.IsNullOrWhiteSpace(t.Type))
            {
                problems.Add($"tools[{i}].type", $"'tools[{i}]' must be an object with a 'type'.", "missing_required_parameter");
                continue;
            }
            tools.Add(new AgentToolSpec { Type = t.Type, KnowledgeBases = t.KnowledgeBases, Server = t.Server, Tools = t.Tools, Urls = t.Urls, RequireApproval = t.RequireApproval ?? false });
        }
        return new AgentDefinition
        {
            Name = Name?.Trim() ?? "",
            Description = Description,
            Instructions = Instructions ?? "",
            Model = Model?.Trim() ?? "",
            Tools = tools,
            ToolChoice = ToolChoice ?? "auto",
            ResetToolChoice = ResetToolChoice ?? true,
            Temperature = Temperature ?? 0.7f,
            Seed = Seed,
            Limits = new AgentLimits
            {
                MaxSteps = Limits?.MaxSteps ?? defaults.MaxSteps,
                MaxWallSeconds = Limits?.MaxWallSeconds ?? defaults.MaxWallSeconds,
                MaxTokens = Limits?.MaxTokens ?? defaults.MaxTokens,
                MaxToolSeconds = Limits?.MaxToolSeconds ?? defaults.MaxToolSeconds,
                MaxTokensPerStep = Limits?.MaxTokensPerStep ?? defaults.MaxTokensPerStep,
            },
        };
    }
}

internal sealed class AgentToolInput
{
    public string? Type { get; set; }
    public List<string>? KnowledgeBases { get; set; }
    public string? Server { get; set; }
    public List<string>? Tools { get; set; }
    public List<string>? Urls { get; set; }
    public bool? RequireApproval { get; set; }
}

internal sealed class AgentLimitsInput
{
    public int? MaxSteps { get; set; }
    public double? MaxWallSeconds { get; set; }
    public int? MaxTokens { get; set; }
    public double? MaxToolSeconds { get; set; }
    public int? MaxTokensPerStep { get; set; }
}

internal sealed class RunInput
{
    public string? Input { get; set; }
    /// <summary>Default true: server-sent events as the run goes. False: the finished run with its trace.</summary>
    public bool? Stream { get; set; }
}

internal sealed class ApprovalInput
{
    /// <summary>approve or reject.</summary>
    public string? Decision { get; set; }
}

/// <summary>An agent as the API shows it. Times are unix seconds.</summary>
internal sealed record AgentObject(string Id, string Object, long CreatedAt, long UpdatedAt, string Name, string? Description, string Instructions, string Model,
    IReadOnlyList<AgentToolSpec> Tools, string ToolChoice, bool ResetToolChoice, AgentLimits Limits, float Temperature, uint? Seed)
{
    public static AgentObject From(StoredAgent a)
    {
        var d = a.Definition;
        return new(a.Id, "agent", a.CreatedAt.ToUnixTimeSeconds(), a.UpdatedAt.ToUnixTimeSeconds(), d.Name, d.Description, d.Instructions, d.Model,
            d.Tools, d.ToolChoice, d.ResetToolChoice, d.Limits, d.Temperature, d.Seed);
    }
}

internal sealed record AgentList(string Object, IReadOnlyList<AgentObject> Data);

internal sealed record DeletedObject(string Id, string Object, bool Deleted);

/// <summary>A run as the API shows it, with its trace when asked for one run.</summary>
internal sealed record AgentRunObject(
    string Id,
    string Object,
    string AgentId,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? StopReason,
    string Input,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Answer,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Error,
    int Steps,
    RunUsage Usage,
    long ToolMs,
    long StartedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? FinishedAt,
    IReadOnlyList<string>? PendingApprovals,
    IReadOnlyList<RunTraceStep>? Trace)
{
    public static AgentRunObject From(AgentRunRecord r, IReadOnlyList<RunTraceStep>? trace, IReadOnlyList<string>? pending = null) => new(
        r.Id, "agent.run", r.AgentId, r.Status, r.StopReason, r.Input, r.Answer, r.Error, r.Steps,
        new RunUsage(r.PromptTokens, r.CompletionTokens, r.PromptTokens + r.CompletionTokens), r.ToolMilliseconds,
        r.StartedAt.ToUnixTimeSeconds(), r.FinishedAt?.ToUnixTimeSeconds(), pending, trace);
}

internal sealed record RunUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

internal sealed record AgentRunList(string Object, IReadOnlyList<AgentRunObject> Data);

internal sealed record ApprovalObject(string CallId, string Object, string RunId, string Decision);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(AgentInput))]
[JsonSerializable(typeof(RunInput))]
[JsonSerializable(typeof(ApprovalInput))]
[JsonSerializable(typeof(AgentObject))]
[JsonSerializable(typeof(AgentList))]
[JsonSerializable(typeof(DeletedObject))]
[JsonSerializable(typeof(AgentRunObject))]
[JsonSerializable(typeof(AgentRunList))]
[JsonSerializable(typeof(ApprovalObject))]
internal sealed partial class AgentsApiJsonContext : JsonSerializerContext;
