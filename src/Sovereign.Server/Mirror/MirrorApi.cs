using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Sovereign.Core.Errors;
using Sovereign.Core.Options;
using Sovereign.Models.Distribution;
using Sovereign.Models.Store;
using Sovereign.Server.Auth;

namespace Sovereign.Server.Mirror;

/// <summary>
/// This node's store, read-only, in the OCI distribution API as Ollama's registry speaks it, so other nodes can pull
/// from it (<c>SOV_MIRRORS=http://this-node:8080 sov models pull NAME</c>):
/// <list type="bullet">
/// <item><c>GET|HEAD /v2/</c>: 200 <c>{}</c>, the API version check.</item>
/// <item><c>GET|HEAD /v2/&lt;name&gt;/manifests/&lt;tag&gt;</c>: the manifest (<see cref="OciImage"/>): a config blob carrying
/// our manifest's metadata, and the GGUF as the one model layer.</item>
/// <item><c>GET|HEAD /v2/&lt;name&gt;/blobs/&lt;digest&gt;</c>: a blob of that model; <c>Range: bytes=N-</c> gives 206, for resuming.</item>
/// </list>
/// Ollama's <c>library/&lt;name&gt;</c> finds <c>&lt;name&gt;</c>. Needs a key with the mirror scope (enforced by the
/// authentication middleware for all of <c>/v2</c>; admin has every scope); 404 for everything when Sovereign:ServeMirror
/// is false. Registry errors use the OCI shape, <c>{"errors":[{"code","message"}]}</c>.
/// </summary>
internal static class MirrorApi
{
    private static readonly string[] Methods = [HttpMethods.Get, HttpMethods.Head];

    public static IEndpointRouteBuilder MapMirrorApi(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/v2", Methods, (HttpContext context, IOptionsMonitor<SovereignOptions> options) =>
        {
            Admit(context, options);
            return Results.Text("{}", "application/json");
        }).WithName("MirrorVersion");
        app.MapMethods("/v2/{**path}", Methods, Serve).WithName("Mirror");
        return app;
    }

    private static IResult Serve(string? path, HttpContext context, IModelStore store, IOptionsMonitor<SovereignOptions> options)
    {
        Admit(context, options);
        path ??= "";
        if (path.Any(char.IsControl))
            return Error(StatusCodes.Status400BadRequest, "NAME_INVALID", "A model name or digest may not hold control characters.");
        var parts = path.Split('/');
        if (parts.Length < 3 || parts[^2] is not ("manifests" or "blobs"))
            return Error(StatusCodes.Status404NotFound, "UNSUPPORTED", "Not a mirror path: expected /v2/<name>/manifests/<tag> or /v2/<name>/blobs/<digest>.");
        var name = string.Join('/', parts[..^2]);
        var reference = parts[^1];

        if (parts[^2] == "manifests")
        {
            if (!ModelName.TryParse($"{name}:{reference}", out var modelName))
                return Error(StatusCodes.Status400BadRequest, "NAME_INVALID", $"'{Shorten(name)}:{Shorten(reference)}' is not a valid model name and tag.");
            if (Find(store, modelName) is not { } model)
                return Error(StatusCodes.Status404NotFound, "MANIFEST_UNKNOWN", $"This node has no model '{modelName}'.");
            var image = OciImage.From(model);
            context.Response.Headers["Docker-Content-Digest"] = image.ManifestDigest;
            context.Response.Headers.ETag = $"\"{image.ManifestDigest}\"";
            return Results.Bytes(image.ManifestBytes, OciMediaTypes.Manifest);
        }

        if (!OciDigest.IsValid(reference))
            return Error(StatusCodes.Status400BadRequest, "DIGEST_INVALID", $"'{Shorten(reference)}' is not a digest: expected sha256: and 64 lower-case hex digits.");
        if (!ModelName.TryParse(name, out var repository))
            return Error(StatusCodes.Status400BadRequest, "NAME_INVALID", $"'{Shorten(name)}' is not a valid model name.");
        // A blob is served only under the name of a model that uses it, as a registry scopes blobs to a repository.
        foreach (var model in Models(store, repository.Name))
        {
            if (model.Digest == reference)
            {
                var blob = store.BlobPath(model.Digest);
                if (!File.Exists(blob)) break;
                context.Response.Headers["Docker-Content-Digest"] = model.Digest;
                return Results.File(blob, "application/octet-stream", enableRangeProcessing: true);
            }
            var image = OciImage.From(model);
            if (image.ConfigDigest == reference)
            {
                context.Response.Headers["Docker-Content-Digest"] = image.ConfigDigest;
                return Results.Bytes(image.ConfigBytes, "application/octet-stream", enableRangeProcessing: true);
            }
        }
        return Error(StatusCodes.Status404NotFound, "BLOB_UNKNOWN", $"Model '{repository.Name}' has no blob {reference} on this node.");
    }

    private static void Admit(HttpContext context, IOptionsMonitor<SovereignOptions> options)
    {
        if (!options.CurrentValue.ServeMirror)
        {
            throw SovereignException.NotFound(
                "This node does not serve its models to other nodes (Sovereign:ServeMirror is false).", code: "mirror_disabled");
        }
        // The middleware already requires the mirror scope on /v2; checked again so the API never depends on a path rule alone.
        if (!context.GetRequiredApiPrincipal().HasScope(ApiKeyScopes.Mirror))
            throw new SovereignException(ErrorKind.Forbidden, $"This endpoint needs an API key with the '{ApiKeyScopes.Mirror}' scope.", code: "insufficient_scope");
    }

    private static ModelManifest? Find(IModelStore store, ModelName name) =>
        store.Find(name.ToString())
        ?? (name.Name.StartsWith("library/", StringComparison.Ordinal) ? store.Find($"{name.Name["library/".Length..]}:{name.Tag}") : null);

    private static IEnumerable<ModelManifest> Models(IModelStore store, string name)
    {
        var bare = name.StartsWith("library/", StringComparison.Ordinal) ? name["library/".Length..] : null;
        return store.List().Where(m => m.Name == name || m.Name == bare);
    }

    private static IResult Error(int status, string code, string message) =>
        TypedResults.Json(new OciErrors([new OciError(code, message)]), MirrorJsonContext.Default.OciErrors, statusCode: status);

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "…";
}

/// <summary>The OCI distribution API's error body.</summary>
internal sealed record OciErrors(IReadOnlyList<OciError> Errors);

internal sealed record OciError(string Code, string Message);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(OciErrors))]
internal sealed partial class MirrorJsonContext : JsonSerializerContext;
