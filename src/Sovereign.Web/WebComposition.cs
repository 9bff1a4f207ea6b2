using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Localization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sovereign.Core.Errors;
using Sovereign.Web.Access;
using Sovereign.Web.Components;
using Sovereign.Web.Formatting;
using Sovereign.Web.Health;

namespace Sovereign.Web;

/// <summary>
/// The web interface: Blazor components (static server rendering, interactive over the server circuit where pages
/// update live), its cookie sign-in, languages, and its files. The host supplies <see cref="IWebSignIn"/>,
/// <see cref="IKeyAdministration"/> and <see cref="IServerFacts"/>.
/// </summary>
public static class WebComposition
{
    /// <summary>Where this assembly's own files are served from (the Razor class library convention).</summary>
    public const string ContentPath = "/_content/Sovereign.Web";

    public static IServiceCollection AddSovereignWeb(this IServiceCollection services)
    {
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddLocalization();
        services.AddWebAuth();
        services.AddAntiforgery();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<MarkdownRenderer>();
        services.TryAddSingleton<ThroughputMeter>();
        services.TryAddSingleton<NewKeySecrets>();
        return services;
    }

    /// <summary>Wraps the registered engine so the health page can tell decode speed. Call after the engine is registered.</summary>
    public static IServiceCollection AddSovereignWebMetering(this IServiceCollection services)
    {
        var engine = services.LastOrDefault(d => d.ServiceType == typeof(Core.Generation.IInferenceService));
        if (engine is null) return services;
        services.Remove(engine);
        services.AddSingleton<Core.Generation.IInferenceService>(sp => new MeteredInferenceService(
            (Core.Generation.IInferenceService)(engine.ImplementationInstance
                ?? engine.ImplementationFactory?.Invoke(sp)
                ?? ActivatorUtilities.CreateInstance(sp, engine.ImplementationType!)),
            sp.GetRequiredService<ThroughputMeter>()));
        return services;
    }

    public static WebApplication MapSovereignWeb(this WebApplication app)
    {
        var cultures = WebCultures.Supported.Select(c => c.Name).ToArray();
        app.UseRequestLocalization(options =>
        {
            options.SetDefaultCulture(WebCultures.Default).AddSupportedCultures(cultures).AddSupportedUICultures(cultures);
            // The interface's language is the one chosen in it (a cookie), not the browser's Accept-Language.
            options.RequestCultureProviders = [new CookieRequestCultureProvider()];
        });

        var assembly = typeof(WebComposition).Assembly;
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new EmbeddedAssets(assembly, "wwwroot/"),
            RequestPath = ContentPath,
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "no-cache",
        });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new EmbeddedAssets(assembly, "_framework/"),
            RequestPath = "/_framework",
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "no-cache",
        });

        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();

        app.MapGet("/culture", (string? name, string? redirect, HttpContext context) =>
        {
            if (name is not null && cultures.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                context.Response.Cookies.Append(CookieRequestCultureProvider.DefaultCookieName,
                    CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(name)),
                    new CookieOptions { Expires = DateTimeOffset.UtcNow.AddYears(1), HttpOnly = true, SameSite = SameSiteMode.Lax, IsEssential = true });
            }
            return Results.LocalRedirect(WebAuth.SafeReturnPath(redirect));
        }).AllowAnonymous().WithName("WebCulture");

        app.MapPost("/signout", async (HttpContext context) =>
        {
            await WebAuth.SignOutAsync(context);
            return Results.LocalRedirect(WebAuth.SignInPath);
        }).AllowAnonymous().DisableAntiforgery().WithName("WebSignOut");

        // A download is a plain GET the browser saves, which an interactive page cannot hand it; reading only, so no antiforgery token.
        app.MapGet("/chat/export/{id}", async (string id, string? format, HttpContext context, IConversationHistory history) =>
        {
            if (WebUser.From(context.User) is not { } user) return Results.Challenge();
            var kind = format switch
            {
                null or "json" => WebExportFormat.Json,
                "markdown" or "md" => WebExportFormat.Markdown,
                _ => throw SovereignException.Invalid($"Unknown export format '{format}'; use json or markdown.", "format", "invalid_value"),
            };
            var file = await history.ExportAsync(user, id, kind, context.RequestAborted)
                ?? throw SovereignException.NotFound($"No conversation '{id}'.", "id", "conversation_not_found");
            return Results.File(Encoding.UTF8.GetBytes(file.Text), file.ContentType + "; charset=utf-8", file.FileName);
        }).RequireAuthorization().WithName("WebExportConversation");

        app.MapUserForms();
        app.MapKeyForms();

        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
