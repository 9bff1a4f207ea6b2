using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace Sovereign.Server.Auth;

/// <summary>
/// Who is calling: the authenticated key (or signed-in user), its tenant and scopes. Set on every <c>/v1</c>,
/// <c>/v2</c> and <c>/admin</c> request. For a web session <see cref="KeyId"/> is <c>session:&lt;user id&gt;</c> and
/// the scopes follow the user's role. Immutable.
/// </summary>
public sealed record ApiPrincipal(string KeyId, string TenantId, string KeyName, IReadOnlyList<string> Scopes)
{
    public const string AuthenticationType = "ApiKey";

    /// <summary>The user or service account acting, when known (a session, or a key made for a user).</summary>
    public string? UserId { get; init; }

    /// <summary>The app a key is restricted to, if any.</summary>
    public string? AppId { get; init; }

    /// <summary>A signed-in user's role (owner, admin, developer, member); null for keys.</summary>
    public string? Role { get; init; }

    /// <summary>True when the caller signed in on the web (cookie) rather than presenting a key.</summary>
    public bool IsSession { get; init; }

    /// <summary>How audit records and usage name this caller: <c>key:&lt;id&gt;</c> or <c>user:&lt;id&gt;</c>.</summary>
    public string Actor => IsSession ? $"user:{UserId}" : $"key:{KeyId}";

    public bool HasScope(string scope) => ApiKeyScopes.Covers(Scopes, scope);

    internal static ApiPrincipal From(ApiKeyInfo key) => new(key.Id, key.TenantId, key.Name, key.Scopes) { UserId = key.UserId, AppId = key.AppId };

    internal ClaimsPrincipal ToClaimsPrincipal()
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, KeyId),
            new(ClaimTypes.Name, KeyName),
            new("tenant", TenantId),
        };
        claims.AddRange(Scopes.Select(s => new Claim("scope", s)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, AuthenticationType));
    }
}

public static class ApiPrincipalHttpContextExtensions
{
    /// <summary>The caller's principal; null on unauthenticated paths such as <c>/health</c>.</summary>
    public static ApiPrincipal? GetApiPrincipal(this HttpContext context) => context.Features.Get<ApiPrincipal>();

    /// <summary>The caller's principal; throws when the request was not authenticated (a wiring bug).</summary>
    public static ApiPrincipal GetRequiredApiPrincipal(this HttpContext context) =>
        context.GetApiPrincipal() ?? throw new InvalidOperationException($"No API principal on {context.Request.Path}: the route is outside the authenticated areas.");

    internal static void SetApiPrincipal(this HttpContext context, ApiPrincipal principal)
    {
        context.Features.Set(principal);
        context.User = principal.ToClaimsPrincipal();
    }
}
