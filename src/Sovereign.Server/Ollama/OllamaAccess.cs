using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Sovereign.Core.Errors;
using Sovereign.Server.Auth;

namespace Sovereign.Server.Ollama;

/// <summary>
/// Who may use the Ollama API. Requests need an API key like <c>/v1</c> (Bearer), except that the setting
/// <c>Sovereign:Ollama:AllowLoopbackWithoutKey</c> (default false) lets a request without an Authorization header
/// through when, and only when, it comes from a loopback address (127.0.0.0/8, ::1). A key that is presented is
/// always checked. Behind a reverse proxy on the same host every request arrives from loopback: leave the setting
/// off there. Changing models (copy, delete, pull) with a key needs the admin scope. Stateless; thread-safe.
/// </summary>
internal static class OllamaAccess
{
    public const string AllowLoopbackWithoutKeySetting = "Sovereign:Ollama:AllowLoopbackWithoutKey";

    /// <summary>The setting's value; false when absent. A value that is not a boolean stops start-up with a message naming it.</summary>
    public static bool AllowsLoopbackWithoutKey(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var value = configuration[AllowLoopbackWithoutKeySetting];
        if (string.IsNullOrWhiteSpace(value)) return false;
        return bool.TryParse(value.Trim(), out var allowed)
            ? allowed
            : throw new InvalidOperationException($"{AllowLoopbackWithoutKeySetting} must be true or false, got '{value}'.");
    }

    /// <summary>True for an Ollama API request from a loopback address, when the setting allows those without a key.</summary>
    public static bool AdmitsWithoutKey(HttpContext context, bool allowLoopbackWithoutKey) =>
        allowLoopbackWithoutKey && OllamaErrors.IsOllamaPath(context.Request.Path) && IsLoopback(context.Connection.RemoteIpAddress);

    public static bool IsLoopback(IPAddress? address)
    {
        if (address is null) return false;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return IPAddress.IsLoopback(address);
    }

    /// <summary>Every Ollama endpoint uses models: a caller with a key needs the inference scope (admin keys have it).</summary>
    public static void RequireInference(HttpContext context)
    {
        var principal = context.GetApiPrincipal();
        if (principal is null || principal.HasScope(ApiKeyScopes.Inference)) return;
        throw new SovereignException(ErrorKind.Forbidden, "The Ollama API needs an API key with the 'inference' scope.", code: "insufficient_scope");
    }

    /// <summary>
    /// Copy, delete and pull change the store: a caller with a key needs the admin scope (403 otherwise). A caller
    /// admitted from loopback without a key is the machine's owner and may.
    /// </summary>
    public static void RequireModelManagement(HttpContext context)
    {
        var principal = context.GetApiPrincipal();
        if (principal is null || principal.HasScope(ApiKeyScopes.Admin)) return;
        throw new SovereignException(ErrorKind.Forbidden,
            $"{context.Request.Method} {context.Request.Path} changes the models on this server and needs an API key with the 'admin' scope.",
            code: "insufficient_scope");
    }
}
