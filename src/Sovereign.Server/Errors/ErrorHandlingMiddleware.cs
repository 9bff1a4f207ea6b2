using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Core.Errors;
using Sovereign.Core.Options;
using Sovereign.Server.Auth;

namespace Sovereign.Server.Errors;

/// <summary>
/// The outermost middleware: every failure leaves in OpenAI's error shape.
/// <list type="bullet">
/// <item><see cref="SovereignException"/> → its status, message, param and code (plus Retry-After / WWW-Authenticate).</item>
/// <item>Kestrel's refusal of an oversized body → 413; other malformed HTTP → 400.</item>
/// <item>A client that went away → nothing is written.</item>
/// <item>Anything else is a bug → 500 with a generic message; the details go to the log only.</item>
/// <item>An empty 4xx/5xx under <c>/v1</c> or <c>/admin</c> (unknown route, wrong method) gets a body too.</item>
/// </list>
/// Once a response has started (a stream), errors cannot change its status; streams report them in-band themselves.
/// </summary>
internal sealed class ErrorHandlingMiddleware(RequestDelegate next, IOptions<SovereignOptions> options, ILogger<ErrorHandlingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException or BadHttpRequestException)
        {
            logger.ClientGone(context.Request.Method, context.Request.Path);
            return;
        }
        catch (SovereignException e)
        {
            logger.RequestRefused(context.Request.Method, context.Request.Path, e.HttpStatus, e.Code);
            if (!PrepareForError(context, e)) return;
            await ErrorWriter.WriteAsync(context, e);
            return;
        }
        catch (BadHttpRequestException e)
        {
            var error = e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? new SovereignException(ErrorKind.PayloadTooLarge,
                    $"The request body is larger than this server accepts ({options.Value.Limits.MaxRequestBytes} bytes, Sovereign:Limits:MaxRequestBytes).",
                    code: "request_too_large")
                : new SovereignException(ErrorKind.InvalidRequest, $"Malformed HTTP request: {e.Message}");
            logger.RequestRefused(context.Request.Method, context.Request.Path, error.HttpStatus, error.Code);
            if (!PrepareForError(context, e)) return;
            await ErrorWriter.WriteAsync(context, e.StatusCode == StatusCodes.Status413PayloadTooLarge ? 413 : 400, OpenAiError.From(error));
            return;
        }
        catch (Exception e)
        {
            logger.UnhandledException(e, context.Request.Method, context.Request.Path, context.TraceIdentifier);
            if (!PrepareForError(context, e)) return;
            await ErrorWriter.WriteAsync(context, StatusCodes.Status500InternalServerError, OpenAiError.Internal(context.TraceIdentifier));
            return;
        }

        // Routing produced an empty error (no such route, wrong method): give API clients a body they can parse.
        var response = context.Response;
        if (!response.HasStarted && response.StatusCode >= 400 && response.ContentLength is null && response.ContentType is null
            && ApiKeyAuthenticationMiddleware.IsProtected(context.Request.Path))
        {
            var request = context.Request;
            var error = response.StatusCode switch
            {
                StatusCodes.Status404NotFound => new OpenAiError($"Invalid URL ({request.Method} {request.Path}).", "invalid_request_error", null, "unknown_url"),
                StatusCodes.Status405MethodNotAllowed => new OpenAiError($"Method {request.Method} is not allowed on {request.Path}.", "invalid_request_error", null, "method_not_allowed"),
                var s when s < 500 => new OpenAiError($"The request was refused (HTTP {s}).", "invalid_request_error", null, null),
                _ => OpenAiError.Internal(context.TraceIdentifier),
            };
            await ErrorWriter.WriteAsync(context, response.StatusCode, error);
        }
    }

    /// <summary>Clears what the endpoint had set so far; false (and the connection aborted) when the response has already started.</summary>
    private bool PrepareForError(HttpContext context, Exception e)
    {
        if (!context.Response.HasStarted)
        {
            context.Response.Clear();
            return true;
        }
        logger.ErrorAfterResponseStarted(e, context.Request.Method, context.Request.Path);
        context.Abort();
        return false;
    }
}
