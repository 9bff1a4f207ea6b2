using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Sovereign.Agents.Definitions;
using Sovereign.Agents.Runs;
using Sovereign.Agents.Storage;
using Sovereign.Agents.Tools;
using Sovereign.Core.Errors;
using Sovereign.Models.Store;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Agents;

/// <summary>
/// Agents as data and their runs (inference scope; everything is the caller's tenant's, another tenant's is "not found"):
/// <c>GET/POST /v1/agents</c>, <c>GET/PUT/DELETE /v1/agents/{id}</c>; <c>POST /v1/agents/{id}/runs</c> (server-sent events,
/// or the finished run with <c>"stream": false</c>), <c>GET /v1/agents/{id}/runs</c>, <c>GET /v1/agents/{id}/runs/{runId}</c>
/// (the run and its trace), <c>POST /v1/agents/{id}/runs/{runId}/approvals/{callId}</c> and <c>…/cancel</c>.
/// </summary>
internal static class AgentsApi
{
    public const int MaxInputChars = 200_000;

    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var agents = app.MapGroup("/v1/agents");
        agents.MapPost("", CreateAsync).WithName("CreateAgent");
        agents.MapGet("", ListAsync).WithName("ListAgents");
        agents.MapGet("/{id}", GetAsync).WithName("GetAgent");
        agents.MapPut("/{id}", UpdateAsync).WithName("UpdateAgent");
        agents.MapDelete("/{id}", DeleteAsync).WithName("DeleteAgent");
        agents.MapPost("/{id}/runs", RunAsync).WithName("CreateAgentRun");
        agents.MapGet("/{id}/runs", ListRunsAsync).WithName("ListAgentRuns");
        agents.MapGet("/{id}/runs/{runId}", GetRunAsync).WithName("GetAgentRun");
        agents.MapPost("/{id}/runs/{runId}/approvals/{callId}", ApproveAsync).WithName("DecideAgentToolCall");
        agents.MapPost("/{id}/runs/{runId}/cancel", CancelAsync).WithName("CancelAgentRun");
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, IAgentStore store, AgentToolFactory tools, IModelLocator models)
    {
        var definition = await ReadDefinitionAsync(context, tools, models);
        var agent = await store.CreateAsync(definition, context.RequestAborted);
        return TypedResults.Json(AgentObject.From(agent), AgentsApiJsonContext.Default.AgentObject, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpContext context, IAgentStore store)
    {
        var agents = await store.ListAsync(context.RequestAborted);
        return TypedResults.Json(new AgentList("list", [.. agents.Select(AgentObject.From)]), AgentsApiJsonContext.Default.AgentList);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, IAgentStore store) =>
        TypedResults.Json(AgentObject.From(await FindAsync(store, id, context.RequestAborted)), AgentsApiJsonContext.Default.AgentObject);

    private static async Task<IResult> UpdateAsync(string id, HttpContext context, IAgentStore store, AgentToolFactory tools, IModelLocator models)
    {
        await FindAsync(store, id, context.RequestAborted);
        var definition = await ReadDefinitionAsync(context, tools, models);
        var agent = await store.UpdateAsync(id, definition, context.RequestAborted) ?? throw AgentNotFound(id);
        return TypedResults.Json(AgentObject.From(agent), AgentsApiJsonContext.Default.AgentObject);
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext context, IAgentStore store, AgentRunService runs)
    {
        await FindAsync(store, id, context.RequestAborted);
        if (runs.HasLiveRuns(id))
            throw new SovereignException(ErrorKind.Conflict, $"The agent '{id}' has a run in progress; cancel it or let it finish first.", "id", "agent_busy");
        if (!await store.DeleteAsync(id, context.RequestAborted)) throw AgentNotFound(id);
        return TypedResults.Json(new DeletedObject(id, "agent.deleted", true), AgentsApiJsonContext.Default.DeletedObject);
    }

    /// <summary>
    /// Starts a run and follows it:
    /// <list type="number">
    /// <item>validate the input and find the agent (ordinary HTTP errors up to here);</item>
    /// <item>start the run in the background (it outlives this request: limits end it, not a disconnect);</item>
    /// <item>streamed: one SSE event per run event until run_finished; otherwise wait and answer the finished run.</item>
    /// </list>
    /// </summary>
    private static async Task RunAsync(string id, HttpContext context, IAgentStore store, IAgentRunStore runStore, AgentRunService runs)
    {
        // :: Step 1
        var body = await JsonBody.ReadAsync(context.Request, AgentsApiJsonContext.Default.RunInput);
        var problems = new RequestProblems();
        if (body.Input is null) problems.Missing("input");
        else if (string.IsNullOrWhiteSpace(body.Input)) problems.Add("input", "'input' is empty.", "invalid_value");
        else if (body.Input.Length > MaxInputChars) problems.Add("input", $"input must be at most {MaxInputChars} characters, got {body.Input.Length}.", "invalid_value");
        problems.ThrowIfAny();
        var agent = await FindAsync(store, id, context.RequestAborted);

        // :: Step 2
        var live = await runs.StartAsync(agent, body.Input!, context.RequestAborted);

        // :: Step 3
        if (body.Stream == false)
        {
            await live.Completion.WaitAsync(context.RequestAborted);
            var record = await runStore.GetAsync(id, live.Id, context.RequestAborted) ?? throw RunNotFound(live.Id);
            var trace = await runStore.StepsAsync(live.Id, context.RequestAborted);
            await TypedResults.Json(AgentRunObject.From(record, trace), AgentsApiJsonContext.Default.AgentRunObject).ExecuteAsync(context);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Run-Id"] = live.Id;
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            await foreach (var e in live.Events.ReadAllAsync(context.RequestAborted))
            {
                var frame = $"event: {e.Type}\ndata: {e.Data.ToJsonString()}\n\n";
                await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(frame), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left; the run goes on and its trace stays readable.
        }
    }

    private static async Task<IResult> ListRunsAsync(string id, HttpContext context, IAgentStore store, IAgentRunStore runStore)
    {
        await FindAsync(store, id, context.RequestAborted);
        var list = await runStore.ListAsync(id, 100, context.RequestAborted);
        return TypedResults.Json(new AgentRunList("list", [.. list.Select(r => AgentRunObject.From(r, null))]), AgentsApiJsonContext.Default.AgentRunList);
    }

    private static async Task<IResult> GetRunAsync(string id, string runId, HttpContext context, IAgentStore store, IAgentRunStore runStore, AgentRunService runs)
    {
        await FindAsync(store, id, context.RequestAborted);
        var record = await runStore.GetAsync(id, runId, context.RequestAborted) ?? throw RunNotFound(runId);
        var trace = await runStore.StepsAsync(runId, context.RequestAborted);
        // Kept in the database, so a waiting call is listed by whichever request asks, and a restart cannot hide one.
        var pending = RunStatus.IsFinished(record.Status) ? null
            : (await runStore.ApprovalsAsync(runId, pendingOnly: true, context.RequestAborted)).Select(a => a.CallId).ToList();
        return TypedResults.Json(AgentRunObject.From(record, trace, pending), AgentsApiJsonContext.Default.AgentRunObject);
    }

    private static async Task<IResult> ApproveAsync(string id, string runId, string callId, HttpContext context, IAgentStore store, IAgentRunStore runStore, AgentRunService runs)
    {
        var body = await JsonBody.ReadAsync(context.Request, AgentsApiJsonContext.Default.ApprovalInput);
        if (body.Decision is not ("approve" or "reject"))
            throw SovereignException.Invalid(body.Decision is null ? "Missing required parameter: 'decision' (approve or reject)." : $"Invalid value for 'decision': '{body.Decision}'. Supported values are: 'approve' and 'reject'.",
                "decision", body.Decision is null ? "missing_required_parameter" : "invalid_value");
        await FindAsync(store, id, context.RequestAborted);
        var live = runs.Find(id, runId);
        if (live is null)
        {
            var record = await runStore.GetAsync(id, runId, context.RequestAborted) ?? throw RunNotFound(runId);
            var why = record.StopReason == StopReason.Interrupted
                ? " It was interrupted when the server stopped, and runs do not resume; start a new run."
                : $" It ended with status '{record.Status}'.";
            throw new SovereignException(ErrorKind.Conflict, $"The run '{runId}' is not in progress; it waits for no approval.{why}", "run_id", "run_not_in_progress");
        }
        if (!live.Approvals.Decide(callId, body.Decision == "approve"))
            throw new SovereignException(ErrorKind.NotFound, $"The run '{runId}' has no tool call '{callId}' waiting for approval.", "call_id", "approval_not_found");
        return TypedResults.Json(new ApprovalObject(callId, "agent.run.approval", runId, body.Decision == "approve" ? "approved" : "rejected"), AgentsApiJsonContext.Default.ApprovalObject);
    }

    private static async Task<IResult> CancelAsync(string id, string runId, HttpContext context, IAgentStore store, IAgentRunStore runStore, AgentRunService runs)
    {
        await FindAsync(store, id, context.RequestAborted);
        if (runs.Find(id, runId) is { } live)
        {
            live.Cancel();
            await live.Completion.WaitAsync(TimeSpan.FromSeconds(30), context.RequestAborted);
        }
        var record = await runStore.GetAsync(id, runId, context.RequestAborted) ?? throw RunNotFound(runId);
        return TypedResults.Json(AgentRunObject.From(record, null), AgentsApiJsonContext.Default.AgentRunObject);
    }

    private static async Task<AgentDefinition> ReadDefinitionAsync(HttpContext context, AgentToolFactory tools, IModelLocator models)
    {
        var body = await JsonBody.ReadAsync(context.Request, AgentsApiJsonContext.Default.AgentInput);
        var problems = new RequestProblems();
        var definition = body.ToDefinition(problems);
        foreach (var (param, message) in AgentDefinitionValidator.Validate(definition, tools.McpServers, tools.KnowledgeAvailable))
            problems.Add(param, message, "invalid_value");
        if (!string.IsNullOrWhiteSpace(definition.Model) && await models.FindAsync(definition.Model, context.RequestAborted) is null)
            problems.Add("model", $"The model '{definition.Model}' does not exist. See GET /v1/models for the models this server has.", "model_not_found");
        problems.ThrowIfAny();
        return definition;
    }

    private static async Task<StoredAgent> FindAsync(IAgentStore store, string id, CancellationToken ct) =>
        await store.GetAsync(id, ct) ?? throw AgentNotFound(id);

    private static SovereignException AgentNotFound(string id) => new(ErrorKind.NotFound, $"No agent with id '{id}'.", "id", "agent_not_found");

    private static SovereignException RunNotFound(string id) => new(ErrorKind.NotFound, $"No run with id '{id}'.", "run_id", "run_not_found");
}
