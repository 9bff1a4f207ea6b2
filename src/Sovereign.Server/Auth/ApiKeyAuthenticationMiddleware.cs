using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Server.Ollama;

namespace Sovereign.Server.Auth;

/// <summary>
/// Requires <c>Authorization: Bearer &lt;key&gt;</c> on <c>/v1/*</c>, <c>/v2/*</c> (the mirror) and <c>/admin/*</c>;
/// everything else (e.g. <c>/health</c>) passes. Failures are thrown as <see cref="SovereignException"/> for the error
/// middleware to write in OpenAI's shape: 401 <c>invalid_api_key</c> for a missing, unknown, revoked or expired key;
/// 403 when the key lacks the area's scope (<see cref="RequiredScope"/>). On success the <see cref="ApiPrincipal"/> is
/// on the HttpContext.
/// </summary>
/// <remarks>The Ollama API (<c>/api/*</c>) needs a key too, except from loopback when Sovereign:Ollama:AllowLoopbackWithoutKey is on (<see cref="OllamaAccess"/>).</remarks>
internal sealed class ApiKeyAuthenticationMiddleware(
    RequestDelegate next, IApiKeyStore keys, TimeProvider time, ILogger<ApiKeyAuthenticationMiddleware> logger, IConfiguration configuration)
{
    private readonly bool _ollamaLoopbackWithoutKey = OllamaAccess.AllowsLoopbackWithoutKey(configuration);

    /// <summary>last_used_at is written at most this often per key, so a busy key does not write on every request.</summary>
    private static readonly TimeSpan UseRecordInterval = TimeSpan.FromMinutes(1);

    public static bool IsProtected(PathString path) =>
        path.StartsWithSegments("/v1") || path.StartsWithSegments("/admin") || path.StartsWithSegments("/v2") || OllamaErrors.IsOllamaPath(path);

    /// <summary>The scope a protected path needs: admin for <c>/admin</c>, mirror for <c>/v2</c>, inference otherwise.</summary>
    public static string RequiredScope(PathString path) =>
        path.StartsWithSegments("/admin") ? ApiKeyScopes.Admin
        : path.StartsWithSegments("/v2") ? ApiKeyScopes.Mirror
        : ApiKeyScopes.Inference;

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!IsProtected(path))
        {
            await next(context);
            return;
        }

        var ct = context.RequestAborted;
        var presented = ReadBearer(context.Request);
        if (presented is null)
        {
            if (OllamaAccess.AdmitsWithoutKey(context, _ollamaLoopbackWithoutKey))
            {
                // A keyless loopback Ollama client acts for the default tenant, as a single-organisation install expects.
                using (TenantScope.Enter(TenantScope.DefaultTenant)) await next(context);
                return;
            }
            throw Refuse(context, "missing",
                "You didn't provide an API key. Provide it in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
        }

        var key = await keys.FindByKeyAsync(presented, ct);
        var now = time.GetUtcNow();
        if (key is null) throw Refuse(context, "unknown", $"Incorrect API key provided: {ApiKeyFormat.Mask(presented)}.");
        if (key.RevokedAt is not null) throw Refuse(context, "revoked", $"The API key {key.Prefix}… has been revoked.");
        if (key.IsExpired(now)) throw Refuse(context, "expired", $"The API key {key.Prefix}… expired at {key.ExpiresAt:u}.");

        var scope = RequiredScope(path);
        if (!key.HasScope(scope))
        {
            logger.AuthorizationFailed(key.Id, context.Request.Method, path);
            throw new SovereignException(ErrorKind.Forbidden, $"This endpoint needs an API key with the '{scope}' scope.", code: "insufficient_scope");
        }

        context.SetApiPrincipal(ApiPrincipal.From(key));
        if (key.LastUsedAt is null || now - key.LastUsedAt >= UseRecordInterval) await keys.MarkUsedAsync(key.Id, now, ct);
        using (TenantScope.Enter(key.TenantId)) await next(context);
    }

    private SovereignException Refuse(HttpContext context, string reason, string message)
    {
        logger.AuthenticationFailed(reason, context.Request.Method, context.Request.Path);
        return new SovereignException(ErrorKind.Unauthorized, message, code: "invalid_api_key");
    }

    private static string? ReadBearer(HttpRequest request)
    {
        var header = request.Headers[HeaderNames.Authorization].ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return null;
        var key = header[scheme.Length..].Trim();
        return key.Length == 0 ? null : key;
    }
}
