using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sovereign.Agents.Definitions;
using Sovereign.Agents.Model;
using Sovereign.Agents.Runs;
using Sovereign.Agents.ToolCalling;
using AgentToolCall = Sovereign.Agents.Model.ToolCall;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Models.Store;
using Sovereign.Server.Knowledge;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Apps;

/// <summary>
/// A chat through an app that has tools (and a request that brings none of its own): the conversation runs through the
/// server-side agent loop (<see cref="AgentRunner"/>) with the app's tools and the loop's limits, the tools run here,
/// and the client gets the final assistant message as an ordinary chat answer, with every tool step in
/// <c>tool_steps</c>.
/// <list type="number">
/// <item>The app's tool names become the run's tool specs (knowledge_search searches the app's knowledge bases).</item>
/// <item>The run is this request's: it writes to a <see cref="TransientRunStore"/>, each model step goes through the
/// caller's metered engine (so usage is recorded per step under the app), and the client leaving cancels it.</item>
/// <item>Events are read as they come: each finished tool call is reported (a stream shows it at once); a call that
/// needs a person's approval is refused, as no one can approve from a chat (run an agent for that).</item>
/// <item>The outcome: the answer (finish "stop"), a limit reached (finish "length", the text of the last step), or
/// the run's error as an ordinary error.</item>
/// </list>
/// Thread-safe (stateless apart from its services).
/// </summary>
internal sealed partial class AppToolChat(AgentRunner runner, IInferenceService inference, IModelLocator models, Tenancy.GenerationMeter meter,
    TimeProvider time, ILogger<AppToolChat> logger)
{
    /// <summary>Whether a request runs through the agent loop: the app has tools and the client sent none.</summary>
    public static bool Applies(AppChat? app, int clientTools) => app is { Definition.Tools.Count: > 0 } && clientTools == 0;

    /// <summary>The app's tools as an agent's tool entries (step 1).</summary>
    public static IReadOnlyList<AgentToolSpec> Specs(AppChat app)
    {
        var specs = new List<AgentToolSpec>();
        var mcp = new Dictionary<string, List<string>?>(StringComparer.Ordinal);
        foreach (var name in app.Definition.Tools.Distinct(StringComparer.Ordinal))
        {
            if (name.StartsWith("mcp:", StringComparison.Ordinal))
            {
                // mcp:<server> (all its tools) or mcp:<server>/<tool>; one session per server.
                var rest = name[4..];
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                var server = slash < 0 ? rest : rest[..slash];
                if (slash < 0) mcp[server] = null;
                else if (!mcp.TryGetValue(server, out var tools)) mcp[server] = [rest[(slash + 1)..]];
                else tools?.Add(rest[(slash + 1)..]);
                continue;
            }
            specs.Add(name == "knowledge_search"
                ? new AgentToolSpec { Type = name, KnowledgeBases = app.Definition.Knowledge?.Bases ?? [] }
                : new AgentToolSpec { Type = name });
        }
        specs.AddRange(mcp.Select(m => new AgentToolSpec { Type = "mcp", Server = m.Key, Tools = m.Value }));
        return specs;
    }

    /// <summary>
    /// The client's turns (the app's system prompt first, as the resolver put it) as the loop's: the first system turn
    /// becomes the instructions, the rest the conversation. Tool calls in the history keep their ids and arguments.
    /// </summary>
    public static (string Instructions, List<AgentMessage> Conversation) Split(IReadOnlyList<ChatTurn> turns)
    {
        var instructions = turns.Count > 0 && turns[0].Role == "system" ? turns[0].Content ?? "" : "";
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var conversation = new List<AgentMessage>();
        for (var i = turns.Count > 0 && turns[0].Role == "system" ? 1 : 0; i < turns.Count; i++)
        {
            var turn = turns[i];
            if (turn.Role == "assistant" && turn.ToolCalls is { Count: > 0 } calls)
            {
                foreach (var c in calls) names[c.Id] = c.Name;
                conversation.Add(AgentMessage.Assistant(turn.Content ?? "", [.. calls.Select(Call)]));
            }
            else if (turn.Role == "tool")
            {
                if (string.IsNullOrEmpty(turn.ToolCallId) || !names.TryGetValue(turn.ToolCallId, out var name))
                    throw SovereignException.Invalid($"messages[{i}] answers the tool call '{turn.ToolCallId}', which no earlier assistant message made.", $"messages[{i}].tool_call_id");
                conversation.Add(new AgentMessage("tool", turn.Content ?? "") { ToolCallId = turn.ToolCallId, ToolName = name, IsError = turn.IsError });
            }
            else
            {
                conversation.Add(new AgentMessage(turn.Role, turn.Content ?? ""));
            }
        }
        return (instructions, conversation);
    }

    /// <summary>A call from the client's history; arguments that are not a JSON object are a problem the model is shown.</summary>
    private static AgentToolCall Call(Sovereign.Agents.ToolCalling.ToolCall call)
    {
        try
        {
            using var arguments = JsonDocument.Parse(string.IsNullOrWhiteSpace(call.Arguments) ? "{}" : call.Arguments);
            return arguments.RootElement.ValueKind == JsonValueKind.Object
                ? new AgentToolCall(call.Id, call.Name, arguments.RootElement.Clone())
                : new AgentToolCall(call.Id, call.Name, default, "The arguments must be a JSON object.");
        }
        catch (JsonException)
        {
            return new AgentToolCall(call.Id, call.Name, default, "The arguments are not valid JSON.");
        }
    }

    /// <summary>OpenAI's tool_choice as the loop's: auto, none, required or the tool's name.</summary>
    public static string Choice(ToolChoice choice) => choice switch
    {
        ToolChoice.NamedChoice named => named.Name,
        _ when choice.IsForced => "required",
        ToolChoice.NoneChoice => "none",
        _ => "auto",
    };

    /// <summary>Runs the chat (steps 2 to 4); <paramref name="onToolStep"/> sees each tool call as it finishes.</summary>
    public async Task<AppToolOutcome> RunAsync(HttpContext context, string api, AppChat app, AppToolRequest request,
        Func<AppToolStep, ValueTask>? onToolStep, CancellationToken cancellationToken)
    {
        // :: Step 1
        var definition = new AgentDefinition
        {
            Name = app.AppId,
            Model = request.Model,
            Instructions = request.Instructions,
            Tools = Specs(app),
            ToolChoice = request.ToolChoice,
            Limits = new AgentLimits { MaxTokensPerStep = request.MaxTokensPerStep ?? new AgentLimits().MaxTokensPerStep },
            Temperature = request.Sampling.Temperature,
            Seed = request.Sampling.Seed,
        };

        // :: Step 2
        var store = new TransientRunStore();
        var record = new AgentRunRecord
        {
            Id = request.Id,
            AgentId = "app:" + app.AppId,
            Status = RunStatus.Running,
            Input = request.Conversation.LastOrDefault(m => m.Role == "user")?.Content ?? "",
            Definition = definition,
            StartedAt = time.GetUtcNow(),
        };
        await store.CreateAsync(record, cancellationToken);
        var model = new FailureKeepingModel(new InferenceAgentModel(meter.Wrap(inference, context, api), models));
        var log = new RunEventLog();
        var gate = new ApprovalGate();
        LogToolChat(logger, request.Id, app.AppId, definition.Tools.Count, definition.ToolChoice);
        var run = runner.RunConversationAsync(record, request.Conversation, model, store, request.Sampling, log, gate, cancellationToken);

        // :: Step 3
        var calls = new Dictionary<string, (int Step, string Name, string Arguments)>(StringComparer.Ordinal);
        var steps = new List<AppToolStep>();
        string? errorCode = null;
        try
        {
            await foreach (var e in log.ReadAllAsync(cancellationToken))
            {
                switch (e.Type)
                {
                    case RunEvent.ToolCall:
                        calls[Text(e.Data, "call_id")] = (Number(e.Data, "step"), Text(e.Data, "name"), Text(e.Data, "arguments"));
                        break;
                    case RunEvent.ApprovalRequired:
                        gate.Decide(Text(e.Data, "call_id"), false);
                        break;
                    case RunEvent.ToolResult:
                        var id = Text(e.Data, "call_id");
                        var call = calls.TryGetValue(id, out var made) ? made : (Step: Number(e.Data, "step"), Name: Text(e.Data, "name"), Arguments: "{}");
                        var step = new AppToolStep(call.Step, id, call.Name, call.Arguments, Text(e.Data, "content"),
                            e.Data["is_error"]?.GetValue<bool>() ?? false, e.Data["duration_ms"]?.GetValue<long>() ?? 0);
                        steps.Add(step);
                        if (onToolStep is not null) await onToolStep(step);
                        break;
                    case RunEvent.Error:
                        errorCode = e.Data["code"]?.GetValue<string>();
                        break;
                }
            }
        }
        finally
        {
            // The run ends with the request: its token was the request's, so it stops soon after a disconnect.
            await run;
        }

        // :: Step 4
        var finished = store.Record!;
        var trace = store.Steps;
        var usage = new GenerationUsage(finished.PromptTokens, finished.CompletionTokens, TimeSpan.Zero, TimeSpan.Zero);
        LogToolChatFinished(logger, request.Id, finished.Status, finished.StopReason, finished.Steps, steps.Count);
        switch (finished.Status)
        {
            case RunStatus.Completed:
                return new AppToolOutcome(finished.Answer ?? "", FinishReason.Stop, usage, steps, finished.Steps);
            case RunStatus.LimitReached:
                // The model was still calling tools when a limit stopped it: what it wrote around its last calls is all
                // there is, cut short, as max_tokens cuts an answer.
                var last = trace.LastOrDefault(t => t.Kind == RunTraceStep.ModelKind)?.Output ?? "";
                return new AppToolOutcome(ToolCallFree(last), FinishReason.Length, usage, steps, finished.Steps);
            case RunStatus.Cancelled:
                cancellationToken.ThrowIfCancellationRequested();
                throw new OperationCanceledException(cancellationToken);
            default:
                // A step's own error (a quota, a prompt too long, the engine) is the client's answer as it would be
                // without tools: same status, code and message. The run keeps only its text.
                if (model.Failure is { } failure) throw failure;
                throw new SovereignException(errorCode switch
                {
                    "knowledge_unavailable" => ErrorKind.Unavailable,
                    "mcp_server_not_found" or "mcp_tool_not_found" => ErrorKind.NotFound,
                    "duplicate_tool" => ErrorKind.Conflict,
                    _ => ErrorKind.Internal,
                }, finished.Error ?? "The app's tool run failed.", code: errorCode ?? "app_tool_run_failed");
        }
    }

    /// <summary>
    /// Answers <c>/v1/chat/completions</c>: whole, <c>tool_steps</c> (and <c>citations</c>) top-level fields of the
    /// chat.completion; streamed, the opening chunk(s), one chunk with <c>"choices": []</c> and <c>tool_steps</c> per tool
    /// call as it finishes, then the answer, finish_reason, usage when asked for, and [DONE]. Nothing is written before
    /// the run has made a first tool call or answered, so a failure up to then is an ordinary HTTP error.
    /// </summary>
    public async Task RespondOpenAiAsync(HttpContext context, AppChat app, AppToolRequest request, ResponseFormat format, bool stream, bool includeUsage)
    {
        var ct = context.RequestAborted;
        var citations = (format as CitingChatResponseFormat)?.Citations;
        if (!stream)
        {
            var whole = await RunAsync(context, Tenancy.GenerationMeter.OpenAiApi, app, request, null, ct);
            var completion = new ToolStepsChatCompletion(format.Id, "chat.completion", format.Created, format.Model,
                [new ChatChoice(0, new ChatMessageOutput("assistant", whole.Text, Refusal: null), Logprobs: null, ResponseFormat.FinishReasonText(whole.Reason))],
                ResponseFormat.UsageOf(whole.Usage), format.SystemFingerprint, citations, whole.ToolSteps);
            await context.Response.WriteAsJsonAsync(completion, AppToolJsonContext.Default.ToolStepsChatCompletion, cancellationToken: ct);
            return;
        }

        SseWriter? sse = null;
        async ValueTask<SseWriter> StartedAsync()
        {
            if (sse is not null) return sse;
            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
            await response.StartAsync(ct);
            sse = new SseWriter(response.Body);
            await format.WriteOpeningAsync(sse, ct);
            return sse;
        }

        AppToolOutcome outcome;
        try
        {
            outcome = await RunAsync(context, Tenancy.GenerationMeter.OpenAiApi, app, request, async step =>
            {
                var writer = await StartedAsync();
                await writer.WriteAsync(new ToolStepsChunk(format.Id, "chat.completion.chunk", format.Created, format.Model, format.SystemFingerprint, [], [step]),
                    AppToolJsonContext.Default.ToolStepsChunk, ct);
            }, ct);
        }
        catch (SovereignException e) when (sse is not null && !ct.IsCancellationRequested)
        {
            // Once the stream has begun, a failure can only be told in-band.
            await sse.WriteErrorAsync(Errors.OpenAiError.From(e), ct);
            await sse.WriteDoneAsync(ct);
            return;
        }
        var done = await StartedAsync();
        if (outcome.Text.Length > 0) await format.WriteDeltaAsync(done, outcome.Text, ct);
        await format.FlushAsync(done, ct);
        await format.WriteFinishAsync(done, outcome.Reason, ct);
        if (includeUsage) await format.WriteUsageAsync(done, outcome.Usage, ct);
        await done.WriteDoneAsync(ct);
    }

    /// <summary>
    /// Answers Ollama's <c>/api/chat</c>: streamed (NDJSON), a chunk with <c>tool_steps</c> per tool call as it finishes,
    /// the answer, then the final object; whole, one final object with the message and <c>tool_steps</c>. Token counts
    /// are every step's together; the engine's per-step timings are not added up (durations are the whole run's).
    /// </summary>
    public async Task RespondOllamaAsync(HttpContext context, AppChat app, AppToolRequest request, string model, Ollama.OllamaModelCatalog catalog, bool stream, long received)
    {
        var ct = context.RequestAborted;
        Ollama.NdjsonWriter? writer = null;
        AppToolOutcome outcome;
        try
        {
            outcome = await RunAsync(context, Tenancy.GenerationMeter.OllamaApi, app, request, !stream ? null : async step =>
            {
                writer ??= await Ollama.NdjsonWriter.StartStreamAsync(context, ct);
                await writer.WriteAsync(new Ollama.OllamaChatChunk(model, catalog.Now(), new Ollama.OllamaMessage("assistant", ""), false, ToolSteps: [step]),
                    Ollama.OllamaJson.Context.OllamaChatChunk, ct);
            }, ct);
        }
        catch (SovereignException e) when (writer is not null && !ct.IsCancellationRequested)
        {
            await writer.WriteErrorAsync(e.Message, ct);
            return;
        }
        var total = Ollama.OllamaFormat.Nanoseconds(time.GetElapsedTime(received));
        var reason = outcome.Reason == FinishReason.Length ? "length" : "stop";
        if (stream)
        {
            writer ??= await Ollama.NdjsonWriter.StartStreamAsync(context, ct);
            if (outcome.Text.Length > 0)
                await writer.WriteAsync(new Ollama.OllamaChatChunk(model, catalog.Now(), new Ollama.OllamaMessage("assistant", outcome.Text), false), Ollama.OllamaJson.Context.OllamaChatChunk, ct);
            await writer.WriteAsync(new Ollama.OllamaChatDone(model, catalog.Now(), new Ollama.OllamaMessage("assistant", ""), true, reason, total, 0,
                outcome.Usage.PromptTokens, 0, outcome.Usage.CompletionTokens, 0), Ollama.OllamaJson.Context.OllamaChatDone, ct);
            return;
        }
        await Ollama.NdjsonWriter.Whole(context).WriteAsync(new Ollama.OllamaChatDone(model, catalog.Now(), new Ollama.OllamaMessage("assistant", outcome.Text), true, reason,
            total, 0, outcome.Usage.PromptTokens, 0, outcome.Usage.CompletionTokens, 0, outcome.ToolSteps), Ollama.OllamaJson.Context.OllamaChatDone, ct);
    }

    /// <summary>The trace keeps the raw output; a limit can stop a step mid-call, and half a call is no answer.</summary>
    private static string ToolCallFree(string output)
    {
        var at = output.IndexOf('<', StringComparison.Ordinal);
        return (at < 0 ? output : output[..at]).Trim();
    }

    private static string Text(JsonObject data, string name) => data[name]?.GetValue<string>() ?? "";

    private static int Number(JsonObject data, string name) => data[name]?.GetValue<int>() ?? 0;

    [LoggerMessage(EventId = 6101, Level = LogLevel.Debug, Message = "Chat {RequestId} through app {AppId} runs through the agent loop with {Tools} tool entries (tool_choice {ToolChoice})")]
    private static partial void LogToolChat(ILogger logger, string requestId, string appId, int tools, string toolChoice);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Debug, Message = "Chat {RequestId} agent loop ended {Status} ({StopReason}) after {Steps} model steps and {ToolCalls} tool calls")]
    private static partial void LogToolChatFinished(ILogger logger, string requestId, string status, string? stopReason, int steps, int toolCalls);
}

/// <param name="Id">The response id, also the run's.</param>
/// <param name="Model">The model reference the app answers with.</param>
/// <param name="Instructions">The system turn: the app's prompt (with any retrieved passages).</param>
/// <param name="Conversation">The client's turns after it.</param>
/// <param name="ToolChoice">The first step's choice (later steps are auto, as for agents).</param>
/// <param name="MaxTokensPerStep">The request's max_tokens, applied to every step; null: the loop's default.</param>
internal sealed record AppToolRequest(string Id, string Model, string Instructions, IReadOnlyList<AgentMessage> Conversation, string ToolChoice,
    int? MaxTokensPerStep, SamplingParameters Sampling, IReadOnlyList<string>? Stop = null);

/// <summary>What the run gave: the answer, why it ended, tokens of every step together, and the tool calls it made.</summary>
internal sealed record AppToolOutcome(string Text, FinishReason Reason, GenerationUsage Usage, IReadOnlyList<AppToolStep> ToolSteps, int ModelSteps);

/// <summary>The step model, keeping the first <see cref="SovereignException"/> a step threw so the chat can answer with it. One per run.</summary>
internal sealed class FailureKeepingModel(IAgentModel inner) : IAgentModel
{
    public SovereignException? Failure { get; private set; }

    public async IAsyncEnumerable<ModelStepEvent> StepAsync(ModelStepRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var events = inner.StepAsync(request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await events.MoveNextAsync()) yield break;
            }
            catch (SovereignException e)
            {
                Failure ??= e;
                throw;
            }
            yield return events.Current;
        }
    }
}

/// <summary>
/// One tool call the server ran for the chat, as <c>tool_steps</c> shows it: the model step that made it, the call, its
/// arguments (JSON text, as OpenAI's tool_calls carry them), the start of its result (500 characters at most), whether
/// it failed, and how long it took.
/// </summary>
internal sealed record AppToolStep(int Step, string CallId, string Name, string Arguments, string Result, bool IsError, long DurationMs);

/// <summary>OpenAI's chat.completion with the <c>tool_steps</c> extension (and <c>citations</c> when the app has knowledge).</summary>
internal sealed record ToolStepsChatCompletion(
    string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, Usage Usage, string SystemFingerprint,
    IReadOnlyList<CitationObject>? Citations, IReadOnlyList<AppToolStep> ToolSteps);

/// <summary>The stream chunk that reports one tool call as it finishes: no choices, like the usage and citations chunks.</summary>
internal sealed record ToolStepsChunk(string Id, string Object, long Created, string Model, string SystemFingerprint, IReadOnlyList<ChatChunkChoice> Choices,
    IReadOnlyList<AppToolStep> ToolSteps);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ToolStepsChatCompletion))]
[JsonSerializable(typeof(ToolStepsChunk))]
internal sealed partial class AppToolJsonContext : JsonSerializerContext;
