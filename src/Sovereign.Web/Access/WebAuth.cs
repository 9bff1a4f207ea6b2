using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Sovereign.Web.Access;

/// <summary>
/// The web interface's sign-in: an HttpOnly, SameSite=Strict cookie of its own, apart from the API's bearer keys.
/// The cookie carries who the user is; every request re-checks with <see cref="IWebSignIn.IsActiveAsync"/>.
/// </summary>
public static class WebAuth
{
    public const string Scheme = "SovereignWeb";
    public const string AdminPolicy = "SovereignWebAdmin";
    public const string CookieName = ".sovereign.web";
    public const string SignInPath = "/signin";

    internal static void AddWebAuth(this IServiceCollection services)
    {
        services.AddAuthentication(Scheme).AddCookie(Scheme, options =>
        {
            options.Cookie.Name = CookieName;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.LoginPath = SignInPath;
            options.AccessDeniedPath = "/denied";
            options.ExpireTimeSpan = TimeSpan.FromHours(12);
            options.SlidingExpiration = true;
            options.Events.OnValidatePrincipal = ValidateAsync;
        });
        services.AddAuthorizationBuilder().AddPolicy(AdminPolicy, policy => policy.RequireClaim(WebClaims.Scope, WebUser.AdminScope));
        services.AddCascadingAuthenticationState();
    }

    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var user = WebUser.From(context.Principal);
        var signIn = context.HttpContext.RequestServices.GetRequiredService<IWebSignIn>();
        if (user is null || !await signIn.IsActiveAsync(user, context.HttpContext.RequestAborted))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
        }
    }

    /// <summary>Only a path on this server may be returned to after sign-in (no open redirect).</summary>
    public static string SafeReturnPath(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url[0] == '/' && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal)
            ? url
            : "/";
}
