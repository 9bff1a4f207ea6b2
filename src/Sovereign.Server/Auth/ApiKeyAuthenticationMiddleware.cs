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
/// middleware to write in OpenAI's shape: 401 <c>invalid_api_key</c> for a missing, unknown, revoked, expired or
/// malformed key; 403 when the key lacks the scope the path and method need (<see cref="RequiredScope"/>). Without a
/// key, a web session cookie (<see cref="WebSessions"/>) is accepted on <c>/v1</c> and <c>/admin</c>, with the scopes of
/// the user's role and the antiforgery token on unsafe methods. On success the <see cref="ApiPrincipal"/> is on the
/// HttpContext, the caller's tenant is entered (<see cref="TenantScope"/>) and its request rate is counted.
/// </summary>
/// <remarks>The Ollama API (<c>/api/*</c>) needs a key too, except from loopback when Sovereign:Ollama:AllowLoopbackWithoutKey is on (<see cref="OllamaAccess"/>).</remarks>
internal sealed class ApiKeyAuthenticationMiddleware(
    RequestDelegate next, IApiKeyStore keys, TimeProvider time, ILogger<ApiKeyAuthenticationMiddleware> logger, IConfiguration configuration,
    Tenancy.IQuotaEnforcer limits, Tenancy.IUserStore users)
{
    private readonly bool _ollamaLoopbackWithoutKey = OllamaAccess.AllowsLoopbackWithoutKey(configuration);

    /// <summary>last_used_at is written at most this often per key, so a busy key does not write on every request.</summary>
    private static readonly TimeSpan UseRecordInterval = TimeSpan.FromMinutes(1);

    public static bool IsProtected(PathString path) =>
        path.StartsWithSegments("/v1") || path.StartsWithSegments("/admin") || path.StartsWithSegments("/v2") || OllamaErrors.IsOllamaPath(path);

    /// <summary>
    /// The scope a protected path needs: admin for <c>/admin</c> and <c>/v1/usage</c>; mirror for <c>/v2</c>;
    /// under <c>/v1/knowledge</c> knowledge.read for GET/HEAD and any <c>…/search</c>, knowledge.write for other
    /// methods; inference otherwise.
    /// </summary>
    public static string RequiredScope(PathString path, string method)
    {
        if (path.StartsWithSegments("/admin") || path.StartsWithSegments("/v1/usage")) return ApiKeyScopes.Admin;
        if (path.StartsWithSegments("/v2")) return ApiKeyScopes.Mirror;
        if (path.StartsWithSegments("/v1/knowledge"))
        {
            var isSearch = path.Value!.TrimEnd('/').EndsWith("/search", StringComparison.Ordinal);
            return HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || isSearch ? ApiKeyScopes.KnowledgeRead : ApiKeyScopes.KnowledgeWrite;
        }
        return ApiKeyScopes.Inference;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!IsProtected(path))
        {
            await next(context);
            return;
        }

        var ct = context.RequestAborted;
        var scope = RequiredScope(path, context.Request.Method);
        var header = context.Request.Headers[HeaderNames.Authorization].ToString();
        var presented = ReadBearer(context.Request);
        if (presented is null)
        {
            if (header.Length > 0)
                throw Refuse(context, "malformed", "The Authorization header is malformed; send 'Authorization: Bearer YOUR_KEY'.");
            if (OllamaAccess.AdmitsWithoutKey(context, _ollamaLoopbackWithoutKey))
            {
                // A keyless loopback Ollama client acts for the default tenant, as a single-organisation install expects.
                using (TenantScope.Enter(TenantScope.DefaultTenant)) await next(context);
                return;
            }
            if (!path.StartsWithSegments("/v2") && await WebSessions.AuthenticateAsync(context) is { } user)
            {
                if (WebSessions.IsUnsafe(context.Request.Method)) await WebSessions.RequireAntiforgeryAsync(context);
                RequireScope(context, user, scope);
                await ContinueAsync(context, user);
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
        // A key made for a user or service account acts as them, so it stops when they are disabled (or removed).
        if (key.UserId is { } userId && await users.FindAnyTenantAsync(userId, ct) is not { DisabledAt: null })
            throw Refuse(context, "user_disabled", $"The API key {key.Prefix}… belongs to a disabled account.");

        var principal = ApiPrincipal.From(key);
        RequireScope(context, principal, scope);
        if (key.LastUsedAt is null || now - key.LastUsedAt >= UseRecordInterval) await keys.MarkUsedAsync(key.Id, now, ct);
        await ContinueAsync(context, principal);
    }

    private async Task ContinueAsync(HttpContext context, ApiPrincipal principal)
    {
        context.SetApiPrincipal(principal);
        using (TenantScope.Enter(principal.TenantId))
        {
            await limits.CountRequestAsync(principal, context.RequestAborted);
            await next(context);
        }
    }

    private void RequireScope(HttpContext context, ApiPrincipal principal, string scope)
    {
        if (principal.HasScope(scope)) return;
        logger.AuthorizationFailed(principal.KeyId, context.Request.Method, context.Request.Path);
        var who = principal.IsSession ? "Your role does not allow this; it needs" : "This endpoint needs an API key with";
        throw new SovereignException(ErrorKind.Forbidden, $"{who} the '{scope}' scope.", code: "insufficient_scope");
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
