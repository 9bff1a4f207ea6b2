using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Sovereign.Server.Auth;
using Sovereign.Server.Tenancy;
using Sovereign.Web.Access;

namespace Sovereign.Server.WebUi;

/// <summary>
/// Gives a signed-in user's session principal the claims the web interface reads: the scopes of their role and how
/// they signed in. The session cookie itself is unchanged (the role is re-read on each request by the session's own
/// validation). Thread-safe.
/// </summary>
internal sealed class WebSessionClaims : IClaimsTransformation
{
    public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
    {
        if (principal.Identity is not ClaimsIdentity { IsAuthenticated: true, AuthenticationType: WebSessions.Scheme } identity
            || identity.HasClaim(c => c.Type == WebClaims.Method))
            return Task.FromResult(principal);
        var role = identity.FindFirst(WebSessions.RoleClaim)?.Value ?? Roles.Member;
        var added = new ClaimsIdentity(identity);
        added.AddClaim(new Claim(WebClaims.Method, WebSignInMethods.Session));
        foreach (var scope in Roles.Scopes(role)) added.AddClaim(new Claim(WebClaims.Scope, scope));
        return Task.FromResult(new ClaimsPrincipal(added));
    }
}
