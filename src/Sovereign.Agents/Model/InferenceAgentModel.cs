using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sovereign.Agents.Prompting;
using Sovereign.Agents.Storage;
using Sovereign.Agents.Tools;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Agents.Model;

/// <summary>
/// The agent model over the platform's own engine (<see cref="IInferenceService"/>), with tool calls written as
/// Hermes/Qwen-style <c>&lt;tool_call&gt;</c> JSON. Steps:
/// <list type="number">
/// <item>the system turn: the agent's instructions, the data-framing rule and the tools' names, descriptions and schemas;</item>
/// <item>earlier turns: assistant tool calls as markup; tool results framed as data (<see cref="DataFraming"/>);</item>
/// <item>a forced choice (required or a tool's name) constrains generation with <see cref="ToolCallGrammar"/>;</item>
/// <item>the output is split into text and tool calls.</item>
/// </list>
/// Thread-safe.
/// </summary>
public sealed class InferenceAgentModel(IInferenceService inference) : IAgentModel
{
    public async IAsyncEnumerable<ModelStepEvent> StepAsync(ModelStepRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // :: Step 1 and 2: the conversation as the engine takes it.
        var offered = request.ToolChoice == "none" ? [] : request.Tools;
        var messages = new List<ChatMessage> { new("system", SystemTurn(request.Instructions, offered)) };
        foreach (var message in request.Messages) messages.Add(Render(message));
        var promptChars = messages.Sum(m => m.Content.Length);

        // :: Step 3: a grammar when the call is forced.
        var forced = request.ToolChoice switch
        {
            "auto" or "none" => null,
            "required" => request.Tools,
            var name => request.Tools.Where(t => t.Name == name).ToList() is { Count: 1 } one ? one
                : throw new SovereignException(ErrorKind.InvalidRequest, $"tool_choice names '{name}', which is not one of the agent's tools.", "tool_choice"),
        };
        var generation = new GenerationRequest
        {
            Id = request.RequestId,
            Model = request.Model,
            Messages = messages,
            MaxTokens = request.MaxTokens,
            Sampling = new SamplingParameters { Temperature = request.Temperature, Seed = request.Seed },
            Grammar = forced is null ? null : ToolCallGrammar.For(forced),
        };

        var output = new StringBuilder();
        var promptTokens = 0;
        var completionTokens = 0;
        await foreach (var e in inference.GenerateAsync(generation, cancellationToken))
        {
            switch (e)
            {
                case GenerationEvent.Started started:
                    promptTokens = started.PromptTokens;
                    yield return new ModelStepEvent.Started(started.PromptTokens, promptChars);
                    break;
                case GenerationEvent.TextDelta delta:
                    output.Append(delta.Text);
                    completionTokens += delta.Tokens;
                    yield return new ModelStepEvent.Delta(delta.Text, delta.Tokens);
                    break;
                case GenerationEvent.Finished finished:
                    promptTokens = finished.Usage.PromptTokens;
                    completionTokens = finished.Usage.CompletionTokens;
                    break;
                case GenerationEvent.Failed failed:
                    throw new SovereignException(failed.Kind, failed.Message, code: failed.Code);
            }
        }

        // :: Step 4: text and calls.
        var raw = output.ToString();
        var (text, calls) = Parse(raw);
        yield return new ModelStepEvent.Completed(text, calls, promptTokens, completionTokens, raw);
    }

    internal static string SystemTurn(string instructions, IReadOnlyList<IAgentTool> tools)
    {
        var system = new StringBuilder(instructions.Trim());
        if (tools.Count == 0) return system.ToString();
        if (system.Length > 0) system.Append("\n\n");
        system.Append(DataFraming.Preamble).Append("\n\n# Tools\n\nTo call a tool, write ").Append(ToolCallGrammar.Open)
            .Append("{\"name\": <tool name>, \"arguments\": <arguments object>}").Append(ToolCallGrammar.Close)
            .Append(". The tools:\n");
        foreach (var tool in tools)
        {
            var entry = new JsonObject
            {
                ["name"] = tool.Name,
                ["description"] = tool.Description,
                ["parameters"] = JsonNode.Parse(tool.ParametersSchema.GetRawText()),
            };
            system.Append(entry.ToJsonString()).Append('\n');
        }
        return system.ToString();
    }

    internal static ChatMessage Render(AgentMessage message) => message.Role switch
    {
        "assistant" => new("assistant", message.Content + string.Concat(message.ToolCalls.Select(c =>
            $"{ToolCallGrammar.Open}{{\"name\": {JsonSerializer.Serialize(c.Name)}, \"arguments\": {(c.Arguments.ValueKind == JsonValueKind.Undefined ? "{}" : c.Arguments.GetRawText())}}}{ToolCallGrammar.Close}"))),
        "tool" => new("tool", DataFraming.Frame($"tool {message.ToolName} (call {message.ToolCallId})", message.Content, message.IsError)),
        _ => new(message.Role, message.Content),
    };

    /// <summary>The text around the calls, and each <c>&lt;tool_call&gt;</c> block (an unclosed last one too) as a call.</summary>
    internal static (string Text, IReadOnlyList<ToolCall> Calls) Parse(string output)
    {
        var calls = new List<ToolCall>();
        var text = new StringBuilder();
        var at = 0;
        while (true)
        {
            var open = output.IndexOf(ToolCallGrammar.Open, at, StringComparison.Ordinal);
            if (open < 0)
            {
                text.Append(output, at, output.Length - at);
                break;
            }
            text.Append(output, at, open - at);
            var start = open + ToolCallGrammar.Open.Length;
            var close = output.IndexOf(ToolCallGrammar.Close, start, StringComparison.Ordinal);
            var body = close < 0 ? output[start..] : output[start..close];
            calls.Add(ReadCall(body.Trim()));
            if (close < 0) break;
            at = close + ToolCallGrammar.Close.Length;
        }
        return (text.ToString().Trim(), calls);
    }

    private static ToolCall ReadCall(string body)
    {
        var id = Ids.New("call_");
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                return new ToolCall(id, "", default, "The tool call must be a JSON object with a string 'name'.");
            var arguments = root.TryGetProperty("arguments", out var a) ? a.Clone() : JsonDocument.Parse("{}").RootElement.Clone();
            if (arguments.ValueKind == JsonValueKind.String)
            {
                // Some models send arguments as a JSON string, as OpenAI's wire format does.
                try
                {
                    using var inner = JsonDocument.Parse(arguments.GetString()!);
                    arguments = inner.RootElement.Clone();
                }
                catch (JsonException)
                {
                }
            }
            return new ToolCall(id, name.GetString()!, arguments);
        }
        catch (JsonException e)
        {
            return new ToolCall(id, "", default, $"The tool call is not valid JSON: {e.Message.Split(" Path:", 2)[0]}");
        }
    }
}
