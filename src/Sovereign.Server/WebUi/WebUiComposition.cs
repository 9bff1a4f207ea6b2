using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Server.Auth;
using Sovereign.Web;
using Sovereign.Web.Access;

namespace Sovereign.Server.WebUi;

/// <summary>
/// Hosts the web interface (<c>Sovereign.Web</c>) in this server: its components and pages, and the adapters that
/// give it the server's key store and facts. Browser pages live outside <c>/v1</c>, <c>/v2</c>, <c>/api</c> and
/// <c>/admin</c>, so the API's bearer-key authentication never sees them; they sign in with their own cookie.
/// </summary>
internal static class WebUiComposition
{
    public static IServiceCollection AddWebUi(this IServiceCollection services)
    {
        services.AddSovereignWeb();
        services.AddSovereignWebMetering();
        services.AddSingleton<WebKeyAccess>();
        services.AddSingleton<IWebSignIn>(sp => sp.GetRequiredService<WebKeyAccess>());
        services.AddSingleton<IKeyAdministration>(sp => sp.GetRequiredService<WebKeyAccess>());
        services.AddSingleton<IServerFacts, WebServerFacts>();
        services.AddSingleton<IWebChatEngine, WebChatEngine>();
        services.AddSingleton<IUsageReports, WebUsageReports>();
        services.AddSingleton<IAuditView, WebAuditView>();
        services.AddSingleton<IUserAdministration, WebUserAdministration>();
        services.AddSingleton<IKnowledgeAccess, WebKnowledgeAccess>();
        services.AddSingleton<IChatGrounding, WebChatGrounding>();
        services.AddSingleton<IConversationHistory, WebConversationHistory>();
        services.AddSingleton<IAppCatalog, WebAppCatalog>();
        services.AddSingleton<IAppEditor, WebAppEditor>();
        services.AddTransient<IClaimsTransformation, WebSessionClaims>();
        // Local accounts (the tenancy area's session cookie and POST /auth/login) sign in to the interface too.
        services.Configure<WebAuthOptions>(o =>
        {
            o.SessionScheme = WebSessions.Scheme;
            o.SessionCookie = WebSessions.CookieName;
            o.PasswordSignInPath = "/auth/login";
        });
        return services;
    }

    public static WebApplication MapWebUi(this WebApplication app) => app.MapSovereignWeb();
}
