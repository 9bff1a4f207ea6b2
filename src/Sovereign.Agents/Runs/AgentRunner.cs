using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Agents.Definitions;
using Sovereign.Agents.Model;
using Sovereign.Agents.Storage;
using Sovereign.Agents.Tools;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Agents.Runs;

/// <summary>
/// The agent loop. One run:
/// <list type="number">
/// <item>fixes the run's tools (built-ins and MCP sessions) and limits from the definition; nothing later changes them;</item>
/// <item>before each step, checks every limit (steps, wall time, tokens, tool time) and stops naming the one reached;</item>
/// <item>calls the model (forced to call a tool when the definition's tool_choice says so), streaming its text;</item>
/// <item>no tool call: that text is the answer, and the run is complete;</item>
/// <item>each tool call: waits for a person when the tool needs approval, runs it within the time left, feeds the result
/// back (framed as data by the model adapter), and goes round again.</item>
/// </list>
/// Every model call and tool call is written to the trace as it finishes. Wall time does not count time spent waiting
/// for a person. Thread-safe: runs share one runner.
/// </summary>
public sealed class AgentRunner(IAgentModel model, AgentToolFactory toolFactory, IAgentRunStore runs, IOptions<AgentsOptions> options, TimeProvider time, ILogger<AgentRunner> logger)
{
    /// <param name="cancellationToken">Cancels the run: a person's cancel, or the server stopping.</param>
    /// <param name="serverStopping">Set when the server stops: the run then ends failed (interrupted), not cancelled, since
    /// no one chose to end it and it cannot resume.</param>
    public Task RunAsync(AgentRunRecord start, RunEventLog log, ApprovalGate gate, CancellationToken cancellationToken, CancellationToken serverStopping = default) =>
        LoopAsync(new RunState(start, log, runs, time, model, null), [AgentMessage.User(start.Input)], gate, cancellationToken, serverStopping);

    /// <summary>
    /// The same loop over a conversation that already has turns (a chat through an app with tools), rather than one
    /// input. The caller gives the model (so each step is metered as the caller's), where the run is written (a chat
    /// keeps it only for the response: <see cref="TransientRunStore"/>) and the sampling of every step (overriding
    /// the definition's temperature and seed). The run ends when <paramref name="cancellationToken"/> is cancelled too.
    /// </summary>
    /// <param name="conversation">The turns before the first step (user, assistant with its calls, tool results); the
    /// definition's instructions come before them as the system turn.</param>
    public Task RunConversationAsync(AgentRunRecord start, IReadOnlyList<AgentMessage> conversation, IAgentModel stepModel, IAgentRunStore store,
        SamplingParameters? sampling, RunEventLog log, ApprovalGate gate, CancellationToken cancellationToken) =>
        LoopAsync(new RunState(start, log, store, time, stepModel, sampling), [.. conversation], gate, cancellationToken, default);

    private async Task LoopAsync(RunState state, List<AgentMessage> messages, ApprovalGate gate, CancellationToken cancellationToken, CancellationToken serverStopping)
    {
        var start = state.Record;
        var log = state.Log;
        var definition = start.Definition;
        var limits = definition.Limits;
        try
        {
            log.Add(new RunEvent(RunEvent.RunStarted, new JsonObject { ["run_id"] = start.Id, ["agent_id"] = start.AgentId, ["model"] = definition.Model }));

            // :: Step 1: the run's tools, fixed for its whole life.
            RunTools tools;
            using (var wall = state.WallTimeout(cancellationToken))
            {
                try
                {
                    tools = await toolFactory.CreateAsync(definition, wall.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await state.StopAsync(StopReason.MaxWallTime, $"The run reached its wall-time limit of {limits.MaxWallSeconds:0.###} s while connecting its tools.");
                    return;
                }
            }
            await using var _ = tools;
            var toolRan = false;

            while (true)
            {
                // :: Step 2: every limit, before the step that would exceed it.
                if (state.Steps >= limits.MaxSteps)
                {
                    await state.StopAsync(StopReason.MaxSteps, $"The run reached its limit of {limits.MaxSteps} steps without an answer.");
                    return;
                }
                if (state.WallLeft(limits) <= TimeSpan.Zero)
                {
                    await state.StopAsync(StopReason.MaxWallTime, $"The run reached its wall-time limit of {limits.MaxWallSeconds:0.###} s.");
                    return;
                }
                if (state.Tokens >= limits.MaxTokens)
                {
                    await state.StopAsync(StopReason.MaxTokens, $"The run used {state.Tokens} tokens, reaching its limit of {limits.MaxTokens}.");
                    return;
                }
                if (state.ToolTime.TotalSeconds >= limits.MaxToolSeconds)
                {
                    await state.StopAsync(StopReason.MaxToolTime, $"The run spent {state.ToolTime.TotalSeconds:0.###} s in tools, reaching its limit of {limits.MaxToolSeconds:0.###} s.");
                    return;
                }

                // :: Step 3: one model call.
                var step = state.NextStep();
                var choice = toolRan && definition.ResetToolChoice ? "auto" : definition.ToolChoice;
                log.Add(new RunEvent(RunEvent.StepStarted, new JsonObject { ["step"] = step, ["tool_choice"] = choice }));
                var outcome = await CallModelAsync(state, definition, tools, messages, choice, step, cancellationToken);
                if (outcome is null) return;

                // :: Step 4: no call means the answer.
                if (outcome.ToolCalls.Count == 0)
                {
                    log.Add(new RunEvent(RunEvent.FinalAnswer, new JsonObject { ["step"] = step, ["text"] = outcome.Text }));
                    await state.CompleteAsync(outcome.Text);
                    return;
                }

                // :: Step 5: the calls, in order.
                messages.Add(AgentMessage.Assistant(outcome.Text, outcome.ToolCalls));
                foreach (var call in outcome.ToolCalls)
                {
                    var result = await CallToolAsync(state, tools, gate, call, step, cancellationToken);
                    if (result is null) return;
                    messages.Add(AgentMessage.ToolResult(call, result));
                }
                toolRan = true;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && serverStopping.IsCancellationRequested)
        {
            await state.InterruptAsync();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await state.FinishAsync(RunStatus.Cancelled, StopReason.Cancelled, null, "The run was cancelled.");
        }
        catch (SovereignException e)
        {
            log.Add(new RunEvent(RunEvent.Error, new JsonObject { ["message"] = e.Message, ["code"] = e.Code }));
            await state.FinishAsync(RunStatus.Failed, StopReason.Error, null, e.Message);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Agent run {RunId} failed", start.Id);
            log.Add(new RunEvent(RunEvent.Error, new JsonObject { ["message"] = "The run failed with an internal error.", ["code"] = "internal_error" }));
            await state.FinishAsync(RunStatus.Failed, StopReason.Error, null, "The run failed with an internal error.");
        }
    }

    private async Task<ModelStepEvent.Completed?> CallModelAsync(RunState state, AgentDefinition definition, RunTools tools, List<AgentMessage> messages,
        string choice, int step, CancellationToken cancellationToken)
    {
        var limits = definition.Limits;
        var started = time.GetUtcNow();
        var watch = Stopwatch.StartNew();
        var budget = limits.MaxTokens - state.Tokens;
        var request = new ModelStepRequest($"{state.Record.Id}-{step}", definition.Model, definition.Instructions, [.. messages], tools.Tools, choice,
            Math.Max(1, Math.Min(limits.MaxTokensPerStep, budget)), state.Sampling?.Temperature ?? definition.Temperature, state.Sampling?.Seed ?? definition.Seed, state.Sampling);

        using var wall = state.WallTimeout(cancellationToken);
        using var tokens = CancellationTokenSource.CreateLinkedTokenSource(wall.Token);
        int promptTokens = 0, promptChars = 0, completionTokens = 0;
        var output = new System.Text.StringBuilder();
        ModelStepEvent.Completed? completed = null;
        string? stop = null;
        try
        {
            await foreach (var e in state.Model.StepAsync(request, tokens.Token))
            {
                switch (e)
                {
                    case ModelStepEvent.Started s:
                        promptTokens = s.PromptTokens;
                        promptChars = s.PromptChars;
                        if (promptTokens >= budget) stop = StopReason.MaxTokens;
                        break;
                    case ModelStepEvent.Delta d:
                        completionTokens += d.Tokens;
                        output.Append(d.Text);
                        state.Log.Add(new RunEvent(RunEvent.Delta, new JsonObject { ["step"] = step, ["text"] = d.Text }));
                        if (promptTokens + completionTokens >= budget && completionTokens < request.MaxTokens) stop = StopReason.MaxTokens;
                        break;
                    case ModelStepEvent.Completed c:
                        completed = c;
                        promptTokens = c.PromptTokens;
                        completionTokens = c.CompletionTokens;
                        break;
                }
                if (stop is not null)
                {
                    await tokens.CancelAsync();
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && wall.IsCancellationRequested)
        {
            stop = StopReason.MaxWallTime;
        }

        state.AddTokens(promptTokens, completionTokens);
        await state.TraceAsync(new RunTraceStep
        {
            Seq = state.NextSeq(),
            Kind = RunTraceStep.ModelKind,
            Step = step,
            StartedAt = started,
            DurationMs = watch.ElapsedMilliseconds,
            PromptTokens = promptTokens,
            PromptChars = promptChars,
            CompletionTokens = completionTokens,
            ToolChoice = choice,
            Output = RunTraceStep.Summarize(completed?.RawOutput ?? output.ToString()),
            ToolCalls = completed is null ? null : [.. completed.ToolCalls.Select(c => c.Name)],
        });

        if (stop == StopReason.MaxWallTime)
        {
            await state.StopAsync(StopReason.MaxWallTime, $"The run reached its wall-time limit of {limits.MaxWallSeconds:0.###} s during step {step}.");
            return null;
        }
        if (stop == StopReason.MaxTokens || (completed is not null && state.Tokens >= limits.MaxTokens && completed.ToolCalls.Count > 0))
        {
            await state.StopAsync(StopReason.MaxTokens, $"The run used {state.Tokens} tokens, reaching its limit of {limits.MaxTokens}, during step {step}.");
            return null;
        }
        return completed ?? throw new SovereignException(ErrorKind.Internal, "The model's stream ended without completing.");
    }

    private async Task<ToolResult?> CallToolAsync(RunState state, RunTools tools, ApprovalGate gate, ToolCall call, int step, CancellationToken cancellationToken)
    {
        var limits = state.Record.Definition.Limits;
        var arguments = call.Arguments.ValueKind == JsonValueKind.Undefined ? "{}" : call.Arguments.GetRawText();
        state.Log.Add(new RunEvent(RunEvent.ToolCall, new JsonObject { ["step"] = step, ["call_id"] = call.Id, ["name"] = call.Name, ["arguments"] = arguments }));
        var started = time.GetUtcNow();
        var watch = Stopwatch.StartNew();
        string? approval = null;
        ToolResult result;
        string? stop = null;

        var tool = call.Problem is null ? tools.Find(call.Name) : null;
        if (call.Problem is not null) result = ToolResult.Error(call.Problem);
        else if (tool is null)
            result = ToolResult.Error($"There is no tool named '{call.Name}'. The tools are: {string.Join(", ", tools.Tools.Select(t => t.Name))}.");
        else
        {
            var approved = true;
            if (tools.RequireApproval.Contains(tool.Name))
            {
                // :: A person decides; the wall clock does not run meanwhile.
                var decision = gate.WaitAsync(call.Id, cancellationToken);
                await state.Runs.AddApprovalAsync(state.Record.Id, new RunApproval(call.Id, call.Name, arguments, time.GetUtcNow()), CancellationToken.None);
                await state.SetStatusAsync(RunStatus.AwaitingApproval);
                state.Log.Add(new RunEvent(RunEvent.ApprovalRequired, new JsonObject { ["step"] = step, ["call_id"] = call.Id, ["name"] = call.Name, ["arguments"] = arguments }));
                var waited = Stopwatch.StartNew();
                try
                {
                    approved = await decision.WaitAsync(options.Value.ApprovalTimeout, cancellationToken);
                }
                catch (TimeoutException)
                {
                    gate.Decide(call.Id, false);
                    await state.Runs.DecideApprovalAsync(state.Record.Id, call.Id, RunApproval.Expired, time.GetUtcNow(), CancellationToken.None);
                    await state.StopAsync(StopReason.ApprovalTimeout, $"No one approved or rejected the call of '{call.Name}' within {options.Value.ApprovalTimeout.TotalMinutes:0.#} minutes.");
                    return null;
                }
                finally
                {
                    state.ExcludeFromWallTime(waited.Elapsed);
                }
                approval = approved ? RunApproval.Approved : RunApproval.Rejected;
                await state.Runs.DecideApprovalAsync(state.Record.Id, call.Id, approval, time.GetUtcNow(), CancellationToken.None);
                await state.SetStatusAsync(RunStatus.Running);
                state.Log.Add(new RunEvent(RunEvent.ApprovalDecided, new JsonObject { ["call_id"] = call.Id, ["decision"] = approval }));
                watch.Restart();
            }

            if (!approved) result = ToolResult.Error("A person reviewing this call rejected it; it was not run.");
            else
            {
                var toolLeft = TimeSpan.FromSeconds(limits.MaxToolSeconds) - state.ToolTime;
                var wallLeft = state.WallLeft(limits);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromTicks(Math.Max(1, Math.Min(toolLeft.Ticks, wallLeft.Ticks))));
                try
                {
                    result = await tool.InvokeAsync(call.Arguments.ValueKind == JsonValueKind.Undefined ? JsonDocument.Parse("{}").RootElement : call.Arguments, timeout.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    stop = toolLeft <= wallLeft ? StopReason.MaxToolTime : StopReason.MaxWallTime;
                    result = ToolResult.Error($"The call of '{call.Name}' was stopped: the run's {(stop == StopReason.MaxToolTime ? "tool-time" : "wall-time")} limit was reached.");
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Tool {Tool} failed in run {RunId}", call.Name, state.Record.Id);
                    result = ToolResult.Error($"The tool '{call.Name}' failed: {e.Message}");
                }
                state.AddToolTime(watch.Elapsed);
            }
        }

        await state.TraceAsync(new RunTraceStep
        {
            Seq = state.NextSeq(),
            Kind = RunTraceStep.ToolKind,
            Step = step,
            StartedAt = started,
            DurationMs = watch.ElapsedMilliseconds,
            CallId = call.Id,
            Tool = call.Name,
            Arguments = RunTraceStep.Summarize(arguments),
            Result = RunTraceStep.Summarize(result.Content),
            ResultChars = result.Content.Length,
            IsError = result.IsError,
            Approval = approval,
        });
        state.Log.Add(new RunEvent(RunEvent.ToolResult, new JsonObject
        {
            ["step"] = step, ["call_id"] = call.Id, ["name"] = call.Name, ["is_error"] = result.IsError,
            ["content"] = RunTraceStep.Summarize(result.Content), ["duration_ms"] = watch.ElapsedMilliseconds,
        }));

        if (stop == StopReason.MaxToolTime)
        {
            await state.StopAsync(StopReason.MaxToolTime, $"The run spent {state.ToolTime.TotalSeconds:0.###} s in tools, reaching its limit of {limits.MaxToolSeconds:0.###} s, during '{call.Name}'.");
            return null;
        }
        if (stop == StopReason.MaxWallTime)
        {
            await state.StopAsync(StopReason.MaxWallTime, $"The run reached its wall-time limit of {limits.MaxWallSeconds:0.###} s during '{call.Name}'.");
            return null;
        }
        return result;
    }

    /// <summary>The mutable side of one run: counters, the wall clock, and the record written to the store.</summary>
    private sealed class RunState(AgentRunRecord start, RunEventLog log, IAgentRunStore runs, TimeProvider time, IAgentModel model, SamplingParameters? sampling)
    {
        public IAgentRunStore Runs => runs;
        public IAgentModel Model => model;
        public SamplingParameters? Sampling => sampling;

        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _excluded;
        private int _seq;

        public AgentRunRecord Record { get; private set; } = start;
        public RunEventLog Log => log;
        public int Steps => Record.Steps;
        public int Tokens => Record.PromptTokens + Record.CompletionTokens;
        public TimeSpan ToolTime => TimeSpan.FromMilliseconds(Record.ToolMilliseconds);

        public TimeSpan WallLeft(AgentLimits limits) => TimeSpan.FromSeconds(limits.MaxWallSeconds) - (_clock.Elapsed - _excluded);

        public void ExcludeFromWallTime(TimeSpan waited) => _excluded += waited;

        public CancellationTokenSource WallTimeout(CancellationToken cancellationToken)
        {
            var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var left = WallLeft(Record.Definition.Limits);
            cts.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1));
            return cts;
        }

        public int NextStep()
        {
            Record = Record with { Steps = Record.Steps + 1 };
            return Record.Steps;
        }

        public int NextSeq() => ++_seq;

        public void AddTokens(int prompt, int completion) =>
            Record = Record with { PromptTokens = Record.PromptTokens + prompt, CompletionTokens = Record.CompletionTokens + completion };

        public void AddToolTime(TimeSpan spent) => Record = Record with { ToolMilliseconds = Record.ToolMilliseconds + (long)spent.TotalMilliseconds };

        public async Task TraceAsync(RunTraceStep step)
        {
            await runs.AppendStepAsync(Record.Id, step);
            await runs.UpdateAsync(Record);
        }

        public async Task SetStatusAsync(string status)
        {
            Record = Record with { Status = status };
            await runs.UpdateAsync(Record);
        }

        public async Task StopAsync(string reason, string message)
        {
            log.Add(new RunEvent(RunEvent.LimitReached, new JsonObject { ["limit"] = reason, ["message"] = message }));
            await FinishAsync(RunStatus.LimitReached, reason, null, message);
        }

        public Task CompleteAsync(string answer) => FinishAsync(RunStatus.Completed, StopReason.Answer, answer, null);

        /// <summary>The server is stopping: the run fails, and a call that waited for a person is marked interrupted.</summary>
        public async Task InterruptAsync()
        {
            var waiting = await runs.ApprovalsAsync(Record.Id, pendingOnly: true);
            foreach (var approval in waiting) await runs.DecideApprovalAsync(Record.Id, approval.CallId, RunApproval.Interrupted, time.GetUtcNow());
            var error = waiting.Count > 0
                ? $"The server stopped while the run waited for approval of {string.Join(", ", waiting.Select(a => $"'{a.Tool}' (call {a.CallId})"))}. A run cannot resume after a restart; start it again."
                : $"The server stopped while the run was in progress (after {Record.Steps} step(s)). A run cannot resume after a restart; start it again.";
            log.Add(new RunEvent(RunEvent.Error, new JsonObject { ["message"] = error, ["code"] = StopReason.Interrupted }));
            await FinishAsync(RunStatus.Failed, StopReason.Interrupted, null, error);
        }

        public async Task FinishAsync(string status, string reason, string? answer, string? error)
        {
            Record = Record with { Status = status, StopReason = reason, Answer = answer, Error = error, FinishedAt = time.GetUtcNow() };
            try
            {
                await runs.UpdateAsync(Record);
            }
            finally
            {
                log.Add(new RunEvent(RunEvent.RunFinished, new JsonObject
                {
                    ["run_id"] = Record.Id, ["status"] = status, ["stop_reason"] = reason, ["answer"] = answer, ["error"] = error,
                    ["steps"] = Record.Steps, ["prompt_tokens"] = Record.PromptTokens, ["completion_tokens"] = Record.CompletionTokens,
                    ["tool_ms"] = Record.ToolMilliseconds,
                }));
            }
        }
    }
}
