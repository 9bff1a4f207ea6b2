using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Core.Errors;
using Sovereign.Server.Tenancy;

namespace Sovereign.Server.Auth;

/// <summary>
/// Web sign-in with local accounts. The contract the web UI builds on (kept small and stable):
/// <list type="bullet">
/// <item><c>GET /auth/antiforgery</c> → <c>{"token", "header_name", "form_field_name"}</c> and the antiforgery cookie.
/// Every POST below must carry the token, as form field <c>__RequestVerificationToken</c> (Blazor's
/// <c>&lt;AntiforgeryToken/&gt;</c> writes it) or header <c>X-CSRF-TOKEN</c>; else 403 <c>csrf_token_invalid</c>.
/// A token is bound to the signed-in user: fetch a fresh one after signing in.</item>
/// <item><c>POST /auth/login</c>, form or JSON: <c>username</c>, <c>password</c>, optional <c>return_url</c> and
/// <c>failure_url</c> (local paths only). Success sets the <c>sov.session</c> cookie and answers 200 with the user (as
/// <c>/auth/me</c>), or 303 to <c>return_url</c>. Failure: 401 <c>invalid_credentials</c>; after
/// <c>Sovereign:Auth:MaxFailedSignIns</c> wrong passwords in a row, 429 <c>account_locked</c> with <c>Retry-After</c>
/// for <c>LockoutDuration</c>. With <c>failure_url</c> a failure is a 303 to <c>failure_url?error=&lt;code&gt;</c>.</item>
/// <item><c>POST /auth/logout</c> ends the session: 204, or 303 to <c>return_url</c>.</item>
/// <item><c>GET /auth/me</c> → 200 <c>{"object":"user","id","username","display_name","tenant_id","role","kind","scopes"}</c>, 401 without a session.</item>
/// <item><c>GET /auth/oidc/login?return_url=…</c> starts OpenID Connect sign-in when <c>Sovereign:Auth:Oidc</c> is configured (404 otherwise).</item>
/// </list>
/// With a session cookie the APIs under <c>/v1</c> and <c>/admin</c> accept the user as a caller with the scopes of
/// their role (<see cref="Roles.Scopes"/>); their unsafe methods need the antiforgery token too.
/// </summary>
internal static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/auth");
        auth.MapGet("/antiforgery", Antiforgery).WithName("GetAntiforgeryToken");
        auth.MapPost("/login", LoginAsync).WithName("SignIn").DisableAntiforgery();
        auth.MapPost("/logout", (Delegate)LogoutAsync).WithName("SignOut").DisableAntiforgery();
        auth.MapGet("/me", MeAsync).WithName("GetSignedInUser");
        auth.MapGet("/oidc/login", OidcLogin).WithName("SignInWithOidc");
        return app;
    }

    private static IResult Antiforgery(HttpContext context, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Json(new AntiforgeryTokenObject(tokens.RequestToken!, WebSessions.AntiforgeryHeader, WebSessions.FormField),
            TenancyJsonContext.Default.AntiforgeryTokenObject);
    }

    private static async Task<IResult> LoginAsync(HttpContext context, IUserStore users, IOptions<AuthOptions> options, TimeProvider time, ILoggerFactory loggers)
    {
        var log = loggers.CreateLogger(typeof(AuthApi).FullName!);
        var form = await ReadLoginAsync(context.Request);
        await WebSessions.RequireAntiforgeryAsync(context);
        var problems = new OpenAi.RequestProblems();
        if (string.IsNullOrEmpty(form.Username)) problems.Missing("username");
        if (string.IsNullOrEmpty(form.Password)) problems.Missing("password");
        var returnUrl = LocalOrNull(form.ReturnUrl, "return_url", problems);
        var failureUrl = LocalOrNull(form.FailureUrl, "failure_url", problems);
        problems.ThrowIfAny();

        var result = await users.SignInAsync(form.Username!, form.Password!, context.RequestAborted);
        if (result.Outcome != SignInOutcome.Success)
        {
            var locked = result.Outcome == SignInOutcome.Locked;
            if (locked) log.AccountLocked(form.Username!, result.LockedUntil!.Value);
            else log.SignInFailed(form.Username!);
            var code = locked ? "account_locked" : "invalid_credentials";
            if (failureUrl is not null) return TypedResults.Redirect(AppendQuery(failureUrl, "error", code));
            if (locked)
            {
                throw new SovereignException(ErrorKind.RateLimited,
                    $"Too many failed sign-ins: the account is locked until {result.LockedUntil:u}.", code: code)
                {
                    RetryAfter = result.LockedUntil!.Value - time.GetUtcNow(),
                };
            }
            throw new SovereignException(ErrorKind.Unauthorized, "Incorrect username or password.", code: code);
        }

        var user = result.User!;
        await context.SignInAsync(WebSessions.Scheme, WebSessions.CreatePrincipal(user),
            new AuthenticationProperties { IsPersistent = true, AllowRefresh = true });
        log.SignedIn(user.Id, user.TenantId);
        if (returnUrl is not null) return TypedResults.Redirect(returnUrl);
        return TypedResults.Json(MeObject.From(user), TenancyJsonContext.Default.MeObject);
    }

    private static async Task<IResult> LogoutAsync(HttpContext context)
    {
        string? returnUrl = context.Request.HasFormContentType
            ? (await context.Request.ReadFormAsync(context.RequestAborted))["return_url"].ToString()
            : context.Request.Query["return_url"].ToString();
        await WebSessions.RequireAntiforgeryAsync(context);
        var problems = new OpenAi.RequestProblems();
        returnUrl = LocalOrNull(returnUrl, "return_url", problems);
        problems.ThrowIfAny();
        await context.SignOutAsync(WebSessions.Scheme);
        return returnUrl is not null ? TypedResults.Redirect(returnUrl) : TypedResults.NoContent();
    }

    private static async Task<IResult> MeAsync(HttpContext context, IUserStore users)
    {
        var principal = await WebSessions.AuthenticateAsync(context)
            ?? throw new SovereignException(ErrorKind.Unauthorized, "Not signed in. Sign in with POST /auth/login.", code: "not_signed_in");
        var user = await users.FindAnyTenantAsync(principal.UserId!, context.RequestAborted)
            ?? throw new SovereignException(ErrorKind.Unauthorized, "Not signed in. Sign in with POST /auth/login.", code: "not_signed_in");
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Json(MeObject.From(user), TenancyJsonContext.Default.MeObject);
    }

    private static IResult OidcLogin(HttpContext context, IOptions<AuthOptions> options)
    {
        if (!options.Value.Oidc.Enabled)
            throw SovereignException.NotFound("Sign-in through an identity provider is not configured (Sovereign:Auth:Oidc).", code: "oidc_not_configured");
        var problems = new OpenAi.RequestProblems();
        var returnUrl = LocalOrNull(context.Request.Query["return_url"], "return_url", problems) ?? "/";
        problems.ThrowIfAny();
        return TypedResults.Challenge(new AuthenticationProperties { RedirectUri = returnUrl }, [WebSessions.OidcScheme]);
    }

    private static async Task<LoginRequest> ReadLoginAsync(HttpRequest request)
    {
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            return new LoginRequest { Username = form["username"], Password = form["password"], ReturnUrl = form["return_url"], FailureUrl = form["failure_url"] };
        }
        if (request.HasJsonContentType()) return await JsonBody.ReadAsync(request, TenancyJsonContext.Default.LoginRequest);
        throw new SovereignException(ErrorKind.UnsupportedMediaType,
            "Send the sign-in as application/x-www-form-urlencoded, multipart/form-data or application/json.", code: "unsupported_media_type");
    }

    /// <summary>Only local paths ("/chat", not "//evil.example" or "https://…"), so sign-in cannot be used to send people elsewhere.</summary>
    private static string? LocalOrNull(string? url, string param, OpenAi.RequestProblems problems)
    {
        if (string.IsNullOrEmpty(url)) return null;
        var local = url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal);
        if (!local) problems.Add(param, $"{param} must be a local path starting with '/', got '{url}'.", "invalid_value");
        return local ? url : null;
    }

    private static string AppendQuery(string url, string name, string value) =>
        url + (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + name + "=" + Uri.EscapeDataString(value);
}

internal sealed class LoginRequest
{
    public string? Username { get; set; }
    public string? Password { get; set; }
    public string? ReturnUrl { get; set; }
    public string? FailureUrl { get; set; }
}

internal sealed record AntiforgeryTokenObject(string Token, string HeaderName, string FormFieldName);

/// <summary>The signed-in user, as <c>/auth/me</c> and <c>/auth/login</c> answer.</summary>
internal sealed record MeObject(string Object, string Id, string Username, string DisplayName, string TenantId, string Role, string Kind, IReadOnlyList<string> Scopes)
{
    public static MeObject From(UserInfo u) => new("user", u.Id, u.Username, u.DisplayName, u.TenantId, u.Role, u.Kind, Roles.Scopes(u.Role));
}
