using System.Security.Claims;

namespace Sovereign.Web.Access;

/// <summary>Who is signed in to the web interface: an API key (or, once accounts exist, a user) of one tenant. Immutable.</summary>
public sealed record WebUser(string Id, string Name, string TenantId, IReadOnlyList<string> Scopes, string Method)
{
    public const string AdminScope = "admin";
    public const string InferenceScope = "inference";
    public const string KnowledgeReadScope = "knowledge.read";
    public const string KnowledgeWriteScope = "knowledge.write";

    public bool IsAdmin => Scopes.Contains(AdminScope);

    public bool CanChat => IsAdmin || Scopes.Contains(InferenceScope);

    public bool CanReadKnowledge => IsAdmin || Scopes.Contains(KnowledgeReadScope) || Scopes.Contains(KnowledgeWriteScope);

    public bool CanWriteKnowledge => IsAdmin || Scopes.Contains(KnowledgeWriteScope);

    public ClaimsPrincipal ToPrincipal()
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, Id),
            new(ClaimTypes.Name, Name),
            new(WebClaims.Tenant, TenantId),
            new(WebClaims.Method, Method),
        };
        claims.AddRange(Scopes.Select(s => new Claim(WebClaims.Scope, s)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, WebAuth.KeyScheme));
    }

    /// <summary>The user a cookie principal stands for; null when it is not one of ours (or not signed in).</summary>
    public static WebUser? From(ClaimsPrincipal? principal)
    {
        if (principal?.Identity?.IsAuthenticated != true) return null;
        var id = principal.FindFirstValue(ClaimTypes.NameIdentifier);
        var tenant = principal.FindFirstValue(WebClaims.Tenant);
        if (id is null || tenant is null) return null;
        return new WebUser(id, principal.FindFirstValue(ClaimTypes.Name) ?? id, tenant,
            [.. principal.FindAll(WebClaims.Scope).Select(c => c.Value)], principal.FindFirstValue(WebClaims.Method) ?? WebSignInMethods.ApiKey);
    }
}

public static class WebClaims
{
    public const string Tenant = "tenant";
    public const string Scope = "scope";
    public const string Method = "sign_in_method";
}

public static class WebSignInMethods
{
    public const string ApiKey = "api_key";
    /// <summary>A local account (username and password) or an identity provider, through the host's session.</summary>
    public const string Session = "session";
}
