using Microsoft.Extensions.DependencyInjection;
using Sovereign.Apps;

namespace Sovereign.Server.Apps;

internal static class AppsComposition
{
    /// <summary>The apps area (stores, publisher, reference checks) and the chat hook that runs apps.</summary>
    public static IServiceCollection AddSovereignAppsApi(this IServiceCollection services)
    {
        services.AddSovereignApps();
        services.AddSingleton<AppChatResolver>();
        services.AddSingleton<AppToolChat>();
        return services;
    }
}
