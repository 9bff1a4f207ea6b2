using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Sovereign.Web.Access;

/// <summary>What the host tells the web interface about its own sign-in (local accounts), when it has one.</summary>
public sealed class WebAuthOptions
{
    /// <summary>The host's cookie scheme for signed-in users (e.g. the tenancy area's session); null when there are no accounts.</summary>
    public string? SessionScheme { get; set; }

    /// <summary>The name of that scheme's cookie, to tell which sign-in a request carries.</summary>
    public string? SessionCookie { get; set; }

    /// <summary>Where the username/password form posts (form fields username, password, return_url, failure_url and the antiforgery token).</summary>
    public string? PasswordSignInPath { get; set; }

    public bool HasPasswordSignIn => SessionScheme is not null && PasswordSignInPath is not null;
}

/// <summary>
/// The web interface's sign-in. Two ways in, one principal: a user signed in with a username and password carries the
/// host's session cookie; someone signed in with an API key carries this interface's own HttpOnly, SameSite=Strict
/// cookie (<see cref="KeyScheme"/>), re-checked against the key store on every request so revoking the key signs
/// the browser out. <see cref="Scheme"/> picks whichever the request carries.
/// </summary>
public static class WebAuth
{
    /// <summary>The interface's scheme: forwards to the session or the key cookie, and challenges with the sign-in page.</summary>
    public const string Scheme = "sov.web";
    public const string KeyScheme = "sov.web.key";
    public const string AdminPolicy = "SovereignWebAdmin";
    /// <summary>Reading knowledge bases: the knowledge scopes, or admin.</summary>
    public const string KnowledgePolicy = "SovereignWebKnowledge";
    public const string CookieName = "sov.web.key";
    public const string SignInPath = "/signin";

    internal static void AddWebAuth(this IServiceCollection services)
    {
        services.AddOptions<WebAuthOptions>();
        services.AddAuthentication()
            .AddPolicyScheme(Scheme, "Sovereign web", _ => { })
            .AddCookie(KeyScheme, options =>
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
        services.AddOptions<PolicySchemeOptions>(Scheme).Configure<IOptions<WebAuthOptions>>((policy, web) =>
        {
            policy.ForwardDefaultSelector = context =>
                web.Value.SessionScheme is { } session && web.Value.SessionCookie is { } cookie && context.Request.Cookies.ContainsKey(cookie)
                    ? session
                    : KeyScheme;
            // Pages that need sign-in send the browser to the sign-in page, whichever way the user signs in.
            policy.ForwardChallenge = KeyScheme;
            policy.ForwardForbid = KeyScheme;
        });
        // The interface's scheme is the default, so pages see either kind of user; API handlers name their schemes.
        services.PostConfigure<AuthenticationOptions>(o => o.DefaultScheme = Scheme);
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.RequireClaim(WebClaims.Scope, WebUser.AdminScope))
            .AddPolicy(KnowledgePolicy, policy => policy.RequireClaim(WebClaims.Scope, WebUser.AdminScope, WebUser.KnowledgeReadScope, WebUser.KnowledgeWriteScope));
        services.AddCascadingAuthenticationState();
    }

    private static async Task ValidateAsync(Microsoft.AspNetCore.Authentication.Cookies.CookieValidatePrincipalContext context)
    {
        var user = WebUser.From(context.Principal);
        var signIn = context.HttpContext.RequestServices.GetRequiredService<IWebSignIn>();
        if (user is null || !await signIn.IsActiveAsync(user, context.HttpContext.RequestAborted))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(KeyScheme);
        }
    }

    /// <summary>Ends both kinds of sign-in.</summary>
    public static async Task SignOutAsync(HttpContext context)
    {
        await context.SignOutAsync(KeyScheme);
        if (context.RequestServices.GetRequiredService<IOptions<WebAuthOptions>>().Value.SessionScheme is { } session)
            await context.SignOutAsync(session);
    }

    /// <summary>Only a path on this server may be returned to after sign-in (no open redirect).</summary>
    public static string SafeReturnPath(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url[0] == '/' && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal)
            ? url
            : "/";
}
