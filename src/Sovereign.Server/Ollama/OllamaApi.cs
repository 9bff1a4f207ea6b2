using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Models.Distribution;
using Sovereign.Models.Store;

namespace Sovereign.Server.Ollama;

/// <summary>
/// The Ollama-compatible API under <c>/api</c>, with Ollama's paths, fields and streaming format, so that tools
/// written for Ollama work against Sovereign. Authentication is the same API keys as <c>/v1</c>
/// (<see cref="OllamaAccess"/>); errors are <c>{"error": "…"}</c> (<see cref="OllamaErrors"/>). See README.md
/// beside this file for what each endpoint does and where it differs from Ollama.
/// </summary>
internal static class OllamaApi
{
    /// <summary>The Ollama release whose API this one follows; clients read it from /api/version to pick features.</summary>
    public const string CompatibleVersion = "0.5.0";

    public static IEndpointRouteBuilder MapOllamaApi(this IEndpointRouteBuilder app)
    {
        // Built on first use, not here: resolving the engine or the options while the app is built would run the
        // options' validation before start-up, where a bad setting must be reported.
        var services = app.ServiceProvider;
        var catalog = new Lazy<OllamaModelCatalog>(() => ActivatorUtilities.CreateInstance<OllamaModelCatalog>(services));
        var handlers = new Lazy<OllamaEndpoints>(() => ActivatorUtilities.CreateInstance<OllamaEndpoints>(services, catalog.Value));
        var generation = new Lazy<OllamaGenerationHandler>(() => ActivatorUtilities.CreateInstance<OllamaGenerationHandler>(services, catalog.Value));

        var api = app.MapGroup(OllamaErrors.PathPrefix);
        api.MapGet("/version", Guard(context => handlers.Value.VersionAsync(context))).WithName("OllamaVersion");
        api.MapGet("/tags", Guard(context => handlers.Value.TagsAsync(context))).WithName("OllamaListModels");
        api.MapPost("/show", Guard(context => handlers.Value.ShowAsync(context))).WithName("OllamaShowModel");
        api.MapGet("/ps", Guard(context => handlers.Value.PsAsync(context))).WithName("OllamaListRunning");
        api.MapPost("/generate", Guard(context => generation.Value.GenerateAsync(context))).WithName("OllamaGenerate");
        api.MapPost("/chat", Guard(context => generation.Value.ChatAsync(context))).WithName("OllamaChat");
        var embed = new Lazy<OllamaEmbeddingsHandler>(() => ActivatorUtilities.CreateInstance<OllamaEmbeddingsHandler>(services));
        api.MapPost("/embed", Guard(context => embed.Value.EmbedAsync(context))).WithName("OllamaEmbed");
        api.MapPost("/embeddings", Guard(context => embed.Value.EmbeddingsAsync(context))).WithName("OllamaEmbeddings");
        api.MapPost("/pull", Guard(context => handlers.Value.PullAsync(context), manage: true)).WithName("OllamaPull");
        api.MapPost("/copy", Guard(context => handlers.Value.CopyAsync(context), manage: true)).WithName("OllamaCopy");
        api.MapDelete("/delete", Guard(context => handlers.Value.DeleteAsync(context), manage: true)).WithName("OllamaDelete");
        return app;
    }

    /// <summary>Every endpoint needs the inference scope; those that change the store, the admin scope (see <see cref="OllamaAccess"/>).</summary>
    private static RequestDelegate Guard(Func<HttpContext, Task> handler, bool manage = false) => context =>
    {
        OllamaAccess.RequireInference(context);
        if (manage) OllamaAccess.RequireModelManagement(context);
        return handler(context);
    };
}

/// <summary>The Ollama endpoints other than generation and embeddings: models, running models, copy, delete, pull. Thread-safe.</summary>
internal sealed partial class OllamaEndpoints(IModelStore store, IInferenceService inference, OllamaModelCatalog catalog, ILogger<OllamaEndpoints> logger)
{

    /// <summary><c>GET /api/version</c>.</summary>
    public Task VersionAsync(HttpContext context) =>
        JsonAsync(context, new OllamaVersion(OllamaApi.CompatibleVersion), OllamaJson.Context.OllamaVersion);

    /// <summary><c>GET /api/tags</c>: every model in the store.</summary>
    public Task TagsAsync(HttpContext context) =>
        JsonAsync(context, new OllamaTagsResponse([.. store.List().Select(catalog.Entry)]), OllamaJson.Context.OllamaTagsResponse);

    /// <summary><c>POST /api/show</c>: details, model_info from the GGUF header, a Modelfile, the template.</summary>
    public async Task ShowAsync(HttpContext context)
    {
        var body = await JsonBody.ReadAsync(context.Request, OllamaJson.Context.OllamaModelRequest);
        var manifest = Find(body.Reference);
        await JsonAsync(context, catalog.Show(manifest, body.Verbose == true), OllamaJson.Context.OllamaShowResponse);
    }

    /// <summary><c>GET /api/ps</c>: the models loaded now, with their memory and when they unload.</summary>
    public Task PsAsync(HttpContext context) =>
        JsonAsync(context, new OllamaPsResponse([.. inference.Loaded().Select(catalog.Running)]), OllamaJson.Context.OllamaPsResponse);

    /// <summary><c>POST /api/copy</c>: a second name for the same blob (no bytes copied). 200 with no body, as Ollama answers.</summary>
    public async Task CopyAsync(HttpContext context)
    {
        var body = await JsonBody.ReadAsync(context.Request, OllamaJson.Context.OllamaCopyRequest);
        if (string.IsNullOrWhiteSpace(body.Source)) throw OllamaErrors.ModelRequired("source");
        if (string.IsNullOrWhiteSpace(body.Destination)) throw OllamaErrors.ModelRequired("destination");
        if (!ModelName.TryParse(body.Destination, out _))
            throw SovereignException.Invalid($"invalid destination name '{body.Destination}': use name[:tag] with letters, digits, '.', '-', '_' and '/'.",
                "destination", "invalid_model_name");
        var source = Find(body.Source, "source");
        var copy = store.Copy(source.Reference, body.Destination);
        LogCopied(logger, source.Reference, copy.Reference);
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary><c>DELETE /api/delete</c>: unloads the model if it is loaded, then removes it (and its blob when nothing else uses it).</summary>
    public async Task DeleteAsync(HttpContext context)
    {
        var body = await JsonBody.ReadAsync(context.Request, OllamaJson.Context.OllamaModelRequest);
        var manifest = Find(body.Reference);
        if (inference.Loaded().Any(m => string.Equals(m.Name, manifest.Reference, StringComparison.Ordinal)))
            await inference.UnloadAsync(manifest.Reference, context.RequestAborted);
        if (!store.Remove(manifest.Reference)) throw OllamaErrors.ModelNotFound(body.Reference!);
        LogDeleted(logger, manifest.Reference);
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary>
    /// <c>POST /api/pull</c>: fetches the model from the configured mirrors through <see cref="IModelPuller"/>, streaming
    /// its progress as Ollama does (status, digest, total, completed; "success" last), or answering once with
    /// <c>stream: false</c>. 501 while this server has no puller.
    /// </summary>
    public async Task PullAsync(HttpContext context)
    {
        var body = await JsonBody.ReadAsync(context.Request, OllamaJson.Context.OllamaModelRequest);
        var reference = body.Reference;
        if (string.IsNullOrWhiteSpace(reference)) throw OllamaErrors.ModelRequired();
        if (context.RequestServices.GetService<IModelPuller>() is not { } puller)
        {
            await OllamaErrors.WriteAsync(context, StatusCodes.Status501NotImplemented,
                "pulling models is not available on this server: it has no model puller. Import the model with `sov models import FILE.gguf`.");
            return;
        }

        var ct = context.RequestAborted;
        var stream = body.Stream ?? true;
        await using var progress = puller.PullAsync(reference, ct).GetAsyncEnumerator(ct);

        // Failures before the first report (unknown model, no mirrors, a bad name) are ordinary HTTP errors.
        var hasFirst = await progress.MoveNextAsync();
        if (!stream)
        {
            var last = hasFirst ? progress.Current : null;
            while (await progress.MoveNextAsync()) last = progress.Current;
            var whole = NdjsonWriter.Whole(context);
            await whole.WriteAsync(ToStatus(last ?? new PullProgress("success")), OllamaJson.Context.OllamaPullStatus, ct);
            return;
        }

        var writer = await NdjsonWriter.StartStreamAsync(context, ct);
        try
        {
            if (hasFirst)
            {
                await writer.WriteAsync(ToStatus(progress.Current), OllamaJson.Context.OllamaPullStatus, ct);
                while (await progress.MoveNextAsync())
                    await writer.WriteAsync(ToStatus(progress.Current), OllamaJson.Context.OllamaPullStatus, ct);
            }
        }
        catch (SovereignException e) when (!ct.IsCancellationRequested)
        {
            LogPullFailed(logger, reference, e.Message);
            await writer.WriteErrorAsync(e.Message, ct);
        }
    }

    private static Task JsonAsync<T>(HttpContext context, T value, JsonTypeInfo<T> typeInfo) =>
        context.Response.WriteAsJsonAsync(value, typeInfo, "application/json; charset=utf-8", context.RequestAborted);

    private static OllamaPullStatus ToStatus(PullProgress p) => new(p.Status, p.Digest, p.Total, p.Completed);

    private ModelManifest Find(string? reference, string param = "model")
    {
        if (string.IsNullOrWhiteSpace(reference)) throw OllamaErrors.ModelRequired(param);
        if (!ModelName.TryParse(reference, out _))
            throw SovereignException.Invalid($"invalid model name '{reference}': use name[:tag] with letters, digits, '.', '-', '_' and '/'.", param, "invalid_model_name");
        return store.Find(reference) ?? throw OllamaErrors.ModelNotFound(reference, param);
    }

    [LoggerMessage(EventId = 6020, Level = LogLevel.Information, Message = "Ollama API: copied {Source} to {Destination}")]
    private static partial void LogCopied(ILogger logger, string source, string destination);

    [LoggerMessage(EventId = 6021, Level = LogLevel.Information, Message = "Ollama API: deleted {Model}")]
    private static partial void LogDeleted(ILogger logger, string model);

    [LoggerMessage(EventId = 6022, Level = LogLevel.Warning, Message = "Ollama API: pull of {Model} failed: {Error}")]
    private static partial void LogPullFailed(ILogger logger, string model, string error);
}
