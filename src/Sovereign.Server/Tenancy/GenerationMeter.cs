using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Core.Tenancy;
using Sovereign.Server.Auth;

namespace Sovereign.Server.Tenancy;

/// <summary>
/// The seam between the generation endpoints (OpenAI, Ollama) and the engine: <see cref="Wrap"/> gives an endpoint
/// the engine as this caller should see it. For each generation it
/// <list type="number">
/// <item>checks the tenant's and key's token budgets and takes a concurrent-generation place (429 otherwise);</item>
/// <item>stamps the request with the tenant and its weight, for the engine's fair queue;</item>
/// <item>passes the events through, noting the time to the first token;</item>
/// <item>commits the usage record (and the token counters) before it passes on the final event, so the record is
/// durable before the client sees the end of the response; a refused, failed or cancelled request is recorded too.</item>
/// </list>
/// Thread-safe.
/// </summary>
internal sealed class GenerationMeter(IQuotaEnforcer quotas, IUsageStore usage, ITenantStore tenants, TimeProvider time, ILogger<GenerationMeter> logger)
{
    public const string OpenAiApi = "openai";
    public const string OllamaApi = "ollama";

    /// <param name="api">Which API is asking (<see cref="OpenAiApi"/>, <see cref="OllamaApi"/>), as recorded.</param>
    public IInferenceService Wrap(IInferenceService inference, HttpContext context, string api)
    {
        var caller = context.GetApiPrincipal() ?? Anonymous();
        // A key bound to an app speaks for that app; otherwise the app the request named ("app:<id>"), if any.
        if (caller.AppId is null && AppOf(context) is { } app) caller = caller with { AppId = app };
        return new MeteredInference(this, inference, caller, api);
    }

    private const string AppItem = "sovereign.usage.app";

    /// <summary>Records that this request runs through the app <paramref name="appId"/>, so its usage is counted under it.</summary>
    public static void MarkApp(HttpContext context, string appId) => context.Items[AppItem] = appId;

    private static string? AppOf(HttpContext context) => context.Items.TryGetValue(AppItem, out var app) ? app as string : null;

    /// <summary>A keyless loopback Ollama client (when allowed) acts for the tenant in scope, without a key of its own.</summary>
    private static ApiPrincipal Anonymous() =>
        new("", TenantScope.Current ?? TenantScope.DefaultTenant, "loopback", [ApiKeyScopes.Inference]) { IsSession = true };

    private async IAsyncEnumerable<GenerationEvent> GenerateAsync(IInferenceService inner, ApiPrincipal caller, string api, GenerationRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "error";
        int prompt = 0, completion = 0;
        double? ttft = null;
        var recorded = false;
        IDisposable? lease = null;
        try
        {
            // :: Step 1
            try
            {
                lease = await quotas.AcquireGenerationAsync(caller, cancellationToken);
            }
            catch (SovereignException e) when (e.Kind == ErrorKind.RateLimited)
            {
                outcome = "rate_limited";
                throw;
            }

            // :: Step 2
            var weight = (await tenants.FindAsync(caller.TenantId, cancellationToken))?.Weight ?? 1;
            request = request with { TenantId = caller.TenantId, TenantWeight = Math.Max(1, weight) };

            // :: Step 3
            await foreach (var e in inner.GenerateAsync(request, cancellationToken).WithCancellation(cancellationToken))
            {
                switch (e)
                {
                    case GenerationEvent.Started s:
                        prompt = s.PromptTokens;
                        break;
                    case GenerationEvent.TextDelta d:
                        ttft ??= Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                        completion += d.Tokens;
                        break;
                    case GenerationEvent.Finished f:
                        // :: Step 4
                        (prompt, completion) = (f.Usage.PromptTokens, f.Usage.CompletionTokens);
                        outcome = f.Reason == FinishReason.Stop ? "stop" : "length";
                        recorded = true;
                        await RecordAsync(caller, api, request, prompt, completion, ttft, started, outcome, CancellationToken.None);
                        break;
                    case GenerationEvent.Failed:
                        outcome = "failed";
                        recorded = true;
                        await RecordAsync(caller, api, request, prompt, completion, ttft, started, outcome, CancellationToken.None);
                        break;
                }
                yield return e;
            }
        }
        finally
        {
            lease?.Dispose();
            if (!recorded)
            {
                if (outcome == "error" && cancellationToken.IsCancellationRequested) outcome = "cancelled";
                await RecordAsync(caller, api, request, prompt, completion, ttft, started, outcome, CancellationToken.None);
            }
        }
    }

    private async Task RecordAsync(ApiPrincipal caller, string api, GenerationRequest request, int prompt, int completion, double? ttft, long started,
        string outcome, CancellationToken cancellationToken)
    {
        var record = new UsageRecord(caller.TenantId, request.Id, caller.IsSession ? null : caller.KeyId, caller.UserId, UsageModelName.Of(request.Model), caller.AppId, api,
            prompt, completion, ttft, Stopwatch.GetElapsedTime(started).TotalMilliseconds, outcome, time.GetUtcNow());
        try
        {
            await usage.RecordAsync(record, cancellationToken);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException)
        {
            // The answer was already computed; losing it over bookkeeping would be worse. The error is logged loudly.
            logger.UsageNotRecorded(e, request.Id);
        }
    }

    private sealed class MeteredInference(GenerationMeter meter, IInferenceService inner, ApiPrincipal caller, string api) : IInferenceService
    {
        public string Backend => inner.Backend;

        public IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken) =>
            meter.GenerateAsync(inner, caller, api, request, cancellationToken);

        public IReadOnlyList<LoadedModelInfo> Loaded() => inner.Loaded();

        public Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default) => inner.UnloadAsync(model, cancellationToken);

        public Task<LoadedModelInfo> LoadAsync(string model, TimeSpan? keepAlive = null, CancellationToken cancellationToken = default) =>
            inner.LoadAsync(model, keepAlive, cancellationToken);
    }
}
