using System.Text.Json;
using Sovereign.Agents.Tools;
using Sovereign.Core.Generation;

namespace Sovereign.Agents.Model;

/// <summary>
/// One model call of an agent run: the conversation so far and the tools on offer in, streamed text and the parsed tool
/// calls out. Separates the loop from how a model family writes tool calls. Implementations are thread-safe.
/// </summary>
public interface IAgentModel
{
    IAsyncEnumerable<ModelStepEvent> StepAsync(ModelStepRequest request, CancellationToken cancellationToken);
}

/// <param name="ToolChoice">auto, none, required, or one tool's name (a grammar then forces that call).</param>
/// <param name="Sampling">The whole sampling of a chat (top_p, penalties…), when the run has one; its temperature and
/// seed are <paramref name="Temperature"/> and <paramref name="Seed"/>. Null: only those two are set.</param>
/// <param name="Stop">Stop sequences of a chat; null for none.</param>
public sealed record ModelStepRequest(
    string RequestId,
    string Model,
    string Instructions,
    IReadOnlyList<AgentMessage> Messages,
    IReadOnlyList<IAgentTool> Tools,
    string ToolChoice,
    int MaxTokens,
    float Temperature,
    uint? Seed,
    SamplingParameters? Sampling = null,
    IReadOnlyList<string>? Stop = null);

/// <summary>A turn of the run's conversation. Tool turns carry the raw result; the model adapter frames it as data.</summary>
public sealed record AgentMessage(string Role, string Content)
{
    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];
    public string? ToolCallId { get; init; }
    public string? ToolName { get; init; }
    public bool IsError { get; init; }

    public static AgentMessage User(string text) => new("user", text);
    public static AgentMessage Assistant(string text, IReadOnlyList<ToolCall> calls) => new("assistant", text) { ToolCalls = calls };
    public static AgentMessage ToolResult(ToolCall call, ToolResult result) =>
        new("tool", result.Content) { ToolCallId = call.Id, ToolName = call.Name, IsError = result.IsError };
}

/// <summary>A tool call the model made; <see cref="Problem"/> is set when it could not be read (bad JSON), for the model to fix.</summary>
public sealed record ToolCall(string Id, string Name, JsonElement Arguments, string? Problem = null);

/// <summary>What one model call yields: <see cref="Started"/>, any <see cref="Delta"/>s, then <see cref="Completed"/>.</summary>
public abstract record ModelStepEvent
{
    public sealed record Started(int PromptTokens, int PromptChars) : ModelStepEvent;

    public sealed record Delta(string Text, int Tokens) : ModelStepEvent;

    /// <param name="Text">What the model wrote, tool-call markup removed.</param>
    public sealed record Completed(string Text, IReadOnlyList<ToolCall> ToolCalls, int PromptTokens, int CompletionTokens, string RawOutput) : ModelStepEvent;
}
