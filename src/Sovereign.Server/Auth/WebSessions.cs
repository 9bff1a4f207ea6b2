using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sovereign.Core.Net;
using Sovereign.Core.Options;
using Sovereign.Server.Tenancy;

namespace Sovereign.Server.Auth;

/// <summary>
/// Web sign-in: an encrypted, HttpOnly, SameSite=Lax session cookie (<see cref="CookieName"/>) issued by
/// <c>POST /auth/login</c> (see <see cref="AuthApi"/>) or by the optional OpenID Connect provider, and antiforgery
/// tokens for every form and every cookie-authenticated change. The cookie's principal carries the user id, tenant and
/// role; each request re-reads the user so that disabling a user or changing a role takes effect at once.
/// </summary>
public static class WebSessions
{
    public const string Scheme = "sov.session";
    public const string OidcScheme = "oidc";
    public const string CookieName = "sov.session";

    /// <summary>The header a script sends the antiforgery token in; forms send <see cref="FormField"/>.</summary>
    public const string AntiforgeryHeader = "X-CSRF-TOKEN";
    public const string FormField = "__RequestVerificationToken";

    public const string TenantClaim = "tenant";
    public const string RoleClaim = "role";

    internal static IServiceCollection AddSovereignWebSessions(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section);
        services.AddAntiforgery(o =>
        {
            o.HeaderName = AntiforgeryHeader;
            o.FormFieldName = FormField;
            o.Cookie.Name = "sov.antiforgery";
        });
        services.AddAuthentication(Scheme)
            .AddCookie(Scheme, o =>
            {
                o.Cookie.Name = CookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.SlidingExpiration = true;
                // An API answers 401/403, never a redirect to a page that may not exist.
                o.Events.OnRedirectToLogin = c => { c.Response.StatusCode = StatusCodes.Status401Unauthorized; return Task.CompletedTask; };
                o.Events.OnRedirectToAccessDenied = c => { c.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
                o.Events.OnValidatePrincipal = ValidateAsync;
            })
            .AddOpenIdConnect(OidcScheme, _ => { });
        services.AddOptions<CookieAuthenticationOptions>(Scheme).Configure<IOptions<AuthOptions>>((o, auth) => o.ExpireTimeSpan = auth.Value.SessionLifetime);
        services.AddOptions<OpenIdConnectOptions>(OidcScheme).Configure<IOptions<AuthOptions>, IOptions<SovereignOptions>>(ConfigureOidc);
        return services;
    }

    /// <summary>OpenID Connect, configured only from settings; the provider is reached through the outbound allow-list plus its own host.</summary>
    private static void ConfigureOidc(OpenIdConnectOptions o, IOptions<AuthOptions> auth, IOptions<SovereignOptions> sovereign)
    {
        var oidc = auth.Value.Oidc;
        o.SignInScheme = Scheme;
        o.CallbackPath = "/auth/oidc/callback";
        o.SignedOutCallbackPath = "/auth/oidc/signed-out";
        o.ResponseType = "code";
        o.UsePkce = true;
        o.SaveTokens = false;
        o.GetClaimsFromUserInfoEndpoint = true;
        o.Scope.Clear();
        foreach (var s in new[] { "openid", "profile", "email" }) o.Scope.Add(s);
        if (!oidc.Enabled)
        {
            // Unused (the sign-in endpoint answers 404), but the handler validates its options when it is built.
            o.Authority = "https://oidc.invalid";
            o.ClientId = "unused";
            return;
        }
        o.Authority = oidc.Authority;
        o.ClientId = oidc.ClientId;
        o.ClientSecret = oidc.ClientSecret;
        o.RequireHttpsMetadata = !oidc.AllowHttp;
        o.BackchannelHttpHandler = new AllowListHandler([.. sovereign.Value.AllowedHosts, new Uri(oidc.Authority!).Host]);
        o.Events.OnTokenValidated = async context =>
        {
            // The provider proves who the person is; Sovereign decides their tenant and role.
            var identity = context.Principal!;
            var subject = identity.FindFirstValue(ClaimTypes.NameIdentifier) ?? identity.FindFirstValue("sub")
                ?? throw new InvalidOperationException("The identity provider sent no subject.");
            var issuer = identity.FindFirst(ClaimTypes.NameIdentifier)?.Issuer ?? oidc.Authority!;
            var username = identity.FindFirstValue("preferred_username") ?? identity.FindFirstValue(ClaimTypes.Email) ?? subject;
            var display = identity.FindFirstValue("name") ?? username;
            var users = context.HttpContext.RequestServices.GetRequiredService<IUserStore>();
            var user = await users.FindOrCreateExternalAsync(issuer, subject, username, display, oidc.Tenant, context.HttpContext.RequestAborted);
            context.Principal = CreatePrincipal(user);
        };
    }

    /// <summary>The cookie's principal for a user.</summary>
    public static ClaimsPrincipal CreatePrincipal(UserInfo user) => new(new ClaimsIdentity(
    [
        new Claim(ClaimTypes.NameIdentifier, user.Id),
        new Claim(ClaimTypes.Name, user.Username),
        new Claim(TenantClaim, user.TenantId),
        new Claim(RoleClaim, user.Role),
    ], Scheme));

    /// <summary>Re-reads the user on each request: a disabled user's cookie stops working, a role change applies at once.</summary>
    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var id = context.Principal?.FindFirstValue(ClaimTypes.NameIdentifier);
        var users = context.HttpContext.RequestServices.GetRequiredService<IUserStore>();
        var user = id is null ? null : await users.FindAnyTenantAsync(id, context.HttpContext.RequestAborted);
        if (user is null || user.DisabledAt is not null || user.IsService)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
            return;
        }
        var principal = context.Principal!;
        if (principal.FindFirstValue(RoleClaim) != user.Role || principal.FindFirstValue(TenantClaim) != user.TenantId)
        {
            context.ReplacePrincipal(CreatePrincipal(user));
            context.ShouldRenew = true;
        }
    }

    /// <summary>The signed-in user's API principal (scopes from the role), or null when there is no valid session.</summary>
    internal static async Task<ApiPrincipal?> AuthenticateAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(Scheme);
        if (!result.Succeeded) return null;
        var p = result.Principal;
        var userId = p.FindFirstValue(ClaimTypes.NameIdentifier)!;
        var role = p.FindFirstValue(RoleClaim) ?? Roles.Member;
        return new ApiPrincipal($"session:{userId}", p.FindFirstValue(TenantClaim)!, p.FindFirstValue(ClaimTypes.Name) ?? userId, Roles.Scopes(role))
        {
            UserId = userId,
            Role = role,
            IsSession = true,
        };
    }

    /// <summary>
    /// Cookies travel with cross-site requests, so a change made with a session must carry the antiforgery token
    /// (form field or <see cref="AntiforgeryHeader"/>); 403 <c>csrf_token_invalid</c> otherwise.
    /// </summary>
    internal static async Task RequireAntiforgeryAsync(HttpContext context)
    {
        var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
        try
        {
            await antiforgery.ValidateRequestAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            throw new Core.Errors.SovereignException(Core.Errors.ErrorKind.Forbidden,
                $"This request needs a valid antiforgery token (form field '{FormField}' or header '{AntiforgeryHeader}'); get one from GET /auth/antiforgery.",
                code: "csrf_token_invalid");
        }
    }

    public static bool IsUnsafe(string method) => !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method));
}
