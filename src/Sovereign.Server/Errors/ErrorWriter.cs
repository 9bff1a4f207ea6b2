using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Sovereign.Core.Errors;
using Sovereign.Server.Ollama;

namespace Sovereign.Server.Errors;

/// <summary>Writes errors as OpenAI does, with the headers their kind calls for. Stateless; thread-safe.</summary>
internal static class ErrorWriter
{
    /// <summary>Used for Retry-After when a rate-limit or unavailable error does not say when to retry.</summary>
    public static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(1);

    public static Task WriteAsync(HttpContext context, SovereignException error)
    {
        var response = context.Response;
        if (error.Kind is ErrorKind.RateLimited or ErrorKind.Unavailable)
        {
            var seconds = Math.Max(1, (long)Math.Ceiling((error.RetryAfter ?? DefaultRetryAfter).TotalSeconds));
            response.Headers[HeaderNames.RetryAfter] = seconds.ToString(CultureInfo.InvariantCulture);
        }
        if (error.Kind is ErrorKind.Unauthorized) response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        return WriteAsync(context, error.HttpStatus, OpenAiError.From(error));
    }

    public static Task WriteAsync(HttpContext context, int status, OpenAiError error)
    {
        // Ollama clients parse {"error": "…"}.
        if (OllamaErrors.IsOllamaPath(context.Request.Path)) return OllamaErrors.WriteAsync(context, status, error.Message);
        var response = context.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        return response.WriteAsJsonAsync(new OpenAiErrorResponse(error), ServerJsonContext.Default.OpenAiErrorResponse,
            contentType: "application/json; charset=utf-8", CancellationToken.None);
    }
}
