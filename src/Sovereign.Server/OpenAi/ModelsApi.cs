using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sovereign.Core.Errors;
using Sovereign.Models.Store;

namespace Sovereign.Server.OpenAi;

/// <summary>
/// <c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>, straight from the model store (which reads the disk each
/// time, so a model imported while the server runs is listed at once). Ids are <c>name:tag</c>.
/// </summary>
internal static class ModelsApi
{
    public const string OwnedBy = "sovereign";

    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", (IModelStore store) =>
            TypedResults.Json(new ModelList("list", [.. store.List().Select(ToObject)]), ServerJsonContext.Default.ModelList))
            .WithName("ListModels");

        // Catch-all: model names may contain '/'.
        app.MapGet("/v1/models/{**model}", (string model, IModelStore store) =>
        {
            var manifest = store.Find(model) ?? throw new SovereignException(ErrorKind.NotFound,
                $"The model '{model}' does not exist.", "model", "model_not_found");
            return TypedResults.Json(ToObject(manifest), ServerJsonContext.Default.ModelObject);
        }).WithName("RetrieveModel");
        return app;
    }

    private static ModelObject ToObject(ModelManifest manifest) =>
        new(manifest.Reference, "model", manifest.CreatedAt.ToUnixTimeSeconds(), OwnedBy);
}
