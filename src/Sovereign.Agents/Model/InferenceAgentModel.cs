using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Sovereign.Agents.Prompting;
using Sovereign.Agents.ToolCalling;
using Sovereign.Agents.Tools;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Inference.Grammars;
using Sovereign.Models.Store;

namespace Sovereign.Agents.Model;

/// <summary>
/// The agent model over the platform's own engine (<see cref="IInferenceService"/>). Tools, calls and results are
/// written, and calls read back and forced, by the same <see cref="ToolCallingPlan"/> that serves
/// <c>/v1/chat/completions</c>, in the format of the model's family (from its chat template). Steps:
/// <list type="number">
/// <item>the format, from the model's chat template in the model store;</item>
/// <item>the turns: the agent's instructions and the data-framing rule as the system turn, then the run's messages
/// (assistant calls in the family's markup, tool results framed as data);</item>
/// <item>the plan: tools in the system turn and, for a forced choice (required or a tool's name), the grammar that
/// admits only one valid call;</item>
/// <item>the output is split into text and tool calls.</item>
/// </list>
/// Thread-safe.
/// </summary>
public sealed class InferenceAgentModel(IInferenceService inference, IModelLocator? models = null) : IAgentModel
{
    public async IAsyncEnumerable<ModelStepEvent> StepAsync(ModelStepRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // :: Steps 1 to 3
        // The manifest may be another node's, where the step will run; its template decides the format either way.
        var manifest = models is null ? null : await models.FindAsync(request.Model, cancellationToken);
        var format = ToolCallFormats.ForTemplate(manifest?.ChatTemplateOverride);
        var plan = Plan(request, format);
        var promptChars = plan.Messages.Sum(m => m.Content.Length);
        var generation = new GenerationRequest
        {
            Id = request.RequestId,
            Model = request.Model,
            Messages = plan.Messages,
            MaxTokens = request.MaxTokens,
            // A step's limit is the run's budget, not a length the model must have room for: a conversation that has
            // grown (or a small model) leaves less, and the step then ends when the context is full instead of failing.
            ClampMaxTokens = true,
            Sampling = (request.Sampling ?? new SamplingParameters()) with { Temperature = request.Temperature, Seed = request.Seed },
            Stop = request.Stop ?? [],
            Grammar = plan.Grammar,
        };

        var output = new StringBuilder();
        var promptTokens = 0;
        var completionTokens = 0;
        var finishedSeen = false;
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
                    finishedSeen = true;
                    break;
                case GenerationEvent.Failed failed:
                    throw new SovereignException(failed.Kind, failed.Message, code: failed.Code);
            }
        }

        // The engine ends a cancelled stream quietly. Read as a finished step, the few tokens written before a wall-time
        // cut would become the run's answer, so a stream without its finish is a cancellation or a failure, never output.
        if (!finishedSeen)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new SovereignException(ErrorKind.Internal, $"The generation for model '{request.Model}' ended before it finished.", code: "generation_incomplete");
        }

        // :: Step 4
        var raw = output.ToString();
        var (text, calls) = Read(plan, raw);
        yield return new ModelStepEvent.Completed(text, calls, promptTokens, completionTokens, raw);
    }

    /// <summary>The step as tool calling sees it: turns, tools and choice, rendered in <paramref name="format"/>.</summary>
    /// <exception cref="SovereignException">400 when the choice names a tool the agent does not have.</exception>
    internal static ToolCallingPlan Plan(ModelStepRequest request, ToolCallFormat format)
    {
        var turns = new List<ChatTurn>();
        var system = request.Instructions.Trim();
        if (request.Tools.Count > 0) system = system.Length == 0 ? DataFraming.Preamble : system + "\n\n" + DataFraming.Preamble;
        if (system.Length > 0) turns.Add(new ChatTurn("system", system));
        foreach (var message in request.Messages)
        {
            turns.Add(message.Role switch
            {
                "assistant" => new ChatTurn("assistant", message.Content,
                    message.ToolCalls.Count == 0 ? null : [.. message.ToolCalls.Select(c => new ToolCalling.ToolCall(c.Id, c.Name, ArgumentsText(c)))]),
                "tool" => new ChatTurn("tool", message.Content, ToolCallId: message.ToolCallId, IsError: message.IsError),
                _ => new ChatTurn(message.Role, message.Content),
            });
        }
        var choice = request.ToolChoice switch
        {
            "auto" => ToolChoice.Auto,
            "none" => ToolChoice.None,
            "required" => ToolChoice.Required,
            var name => ToolChoice.Function(name),
        };
        // One call per forced step: the loop runs it and the next step sees its result.
        return ToolCallingPlan.Create(turns, [.. request.Tools.Select(Definition)], choice, parallel: false, format);
    }

    /// <summary>
    /// The tool as the model is told of it. Forced calls follow the tool's own grammar when it has one; an MCP tool whose
    /// schema the compiler cannot honour (a <c>pattern</c>, say) gets any JSON object, and the tool checks its arguments
    /// itself, since the agent's tools come from the organisation, not from the request.
    /// </summary>
    internal static ToolDefinition Definition(IAgentTool tool)
    {
        string? grammar = tool is IGrammarTool own ? own.ArgumentsGrammar : null;
        if (grammar is null)
        {
            try
            {
                JsonSchemaGrammar.Compile(tool.ParametersSchema, "parameters");
            }
            catch (SovereignException)
            {
                grammar = JsonSchemaGrammar.AnyObject;
            }
        }
        return new ToolDefinition(tool.Name, tool.Description, tool.ParametersSchema, grammar);
    }

    /// <summary>The text around the calls, and the calls; arguments that are not a JSON object become a problem for the model to fix.</summary>
    internal static (string Text, IReadOnlyList<ToolCall> Calls) Read(ToolCallingPlan plan, string output)
    {
        var parsed = plan.ParseOutput(output);
        var calls = new List<ToolCall>();
        foreach (var call in parsed.Calls)
        {
            try
            {
                using var arguments = JsonDocument.Parse(call.Arguments);
                calls.Add(arguments.RootElement.ValueKind == JsonValueKind.Object
                    ? new ToolCall(call.Id, call.Name, arguments.RootElement.Clone())
                    : new ToolCall(call.Id, call.Name, default, "The arguments must be a JSON object."));
            }
            catch (JsonException e)
            {
                calls.Add(new ToolCall(call.Id, call.Name, default, $"The arguments are not valid JSON: {e.Message.Split(" Path:", 2)[0]}"));
            }
        }
        return ((parsed.Content ?? "").Trim(), calls);
    }

    private static string ArgumentsText(ToolCall call) => call.Arguments.ValueKind == JsonValueKind.Undefined ? "{}" : call.Arguments.GetRawText();
}
