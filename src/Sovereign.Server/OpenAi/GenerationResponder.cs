using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Models.Store;

namespace Sovereign.Server.OpenAi;

/// <summary>
/// The part chat and text completions share once a request is valid: find the model, run the generation and
/// answer, whole or streamed. Thread-safe (stateless apart from its services).
/// </summary>
internal sealed class GenerationResponder(IInferenceService inference, TimeProvider time, ILogger<GenerationResponder> logger,
    Tenancy.GenerationMeter meter, IModelLocator locator)
{
    /// <summary>
    /// The manifest for the client's model string, from this node's store or, in a cluster, another node's (the request
    /// will run there); 404 <c>model_not_found</c> when no node has it.
    /// </summary>
    public async Task<ModelManifest> ResolveModelAsync(string model, CancellationToken cancellationToken) =>
        await locator.FindAsync(model, cancellationToken) ?? throw new SovereignException(ErrorKind.NotFound,
            $"The model '{model}' does not exist. See GET /v1/models for the models this server has, or import one with `sov models import`.",
            "model", "model_not_found");

    public long Now() => time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>
    /// Answers one validated request.
    /// <list type="number">
    /// <item>Start the generation and wait for its first event: failures up to here are ordinary HTTP errors.</item>
    /// <item>Not streamed: read to the end and write one JSON response (a failure is still an HTTP error).</item>
    /// <item>Streamed: send SSE headers with buffering off, then chunks as they come (failures in-band).</item>
    /// </list>
    /// The client's disconnect (RequestAborted) cancels the generation.
    /// </summary>
    public async Task RespondAsync(HttpContext context, GenerationRequest request, ResponseFormat format, bool stream, bool includeUsage)
    {
        var ct = context.RequestAborted;
        logger.GenerationRequested(request.Id, request.Model, stream, request.MaxTokens);

        // :: Step 1
        await using var generation = await StartedGeneration.StartAsync(meter.Wrap(inference, context, Tenancy.GenerationMeter.OpenAiApi), request, ct);

        // :: Step 2
        if (!stream)
        {
            var result = await GenerationStream.CollectAsync(generation.EventsAsync(ct), ct);
            logger.GenerationCompleted(request.Id, result.Reason, result.Usage.PromptTokens, result.Usage.CompletionTokens);
            await format.WriteCompleteAsync(context.Response, result.Text, result.Reason, result.Usage, ct);
            return;
        }

        // :: Step 3
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(ct);
        var finished = await GenerationStream.WriteAsync(new SseWriter(response.Body), format, generation.EventsAsync(ct), includeUsage, logger, ct);
        if (finished is not null)
            logger.GenerationCompleted(request.Id, finished.Reason, finished.Usage.PromptTokens, finished.Usage.CompletionTokens);
    }
}
