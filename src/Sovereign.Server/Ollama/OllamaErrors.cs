using Microsoft.AspNetCore.Http;
using Sovereign.Core.Errors;

namespace Sovereign.Server.Ollama;

/// <summary>
/// Ollama's error shape, <c>{"error": "…"}</c>, for everything under <c>/api</c>. The error middleware writes every
/// failure under <c>/api</c> through here (401 from authentication, 413 from Kestrel and 404 for an unknown route
/// included), so clients get the shape they parse whatever went wrong. Stateless; thread-safe.
/// </summary>
internal static class OllamaErrors
{
    public const string PathPrefix = "/api";

    public static bool IsOllamaPath(PathString path) => path.StartsWithSegments(PathPrefix);

    public static Task WriteAsync(HttpContext context, int status, string message)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        return response.WriteAsJsonAsync(new OllamaErrorResponse(message), OllamaJson.Context.OllamaErrorResponse,
            contentType: "application/json; charset=utf-8", CancellationToken.None);
    }

    /// <summary>Ollama's wording for a model that is not in the store (404).</summary>
    public static SovereignException ModelNotFound(string model, string param = "model") =>
        SovereignException.NotFound($"model '{model}' not found", param, "model_not_found");

    /// <summary>Ollama's wording for a missing model name (400).</summary>
    public static SovereignException ModelRequired(string param = "model") =>
        SovereignException.Invalid($"{param} is required", param, "missing_required_parameter");
}
