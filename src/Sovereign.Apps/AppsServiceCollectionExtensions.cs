using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sovereign.Apps.Conversations;
using Sovereign.Apps.Publishing;
using Sovereign.Apps.Store;

namespace Sovereign.Apps;

public static class AppsServiceCollectionExtensions
{
    /// <summary>
    /// The "apps" schema module, the app and conversation stores, the publisher and its model check. Areas that own
    /// other things an app can name (knowledge bases, tools) register their own <see cref="IAppReferenceCheck"/>.
    /// </summary>
    public static IServiceCollection AddSovereignApps(this IServiceCollection services)
    {
        services.AddSingleton(AppsSchema.Module);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IAppStore, SqliteAppStore>();
        services.TryAddSingleton<IConversationStore, SqliteConversationStore>();
        services.AddSingleton<IAppReferenceCheck, ModelReferenceCheck>();
        services.AddSingleton<IAppReferenceCheck, KnowledgeBaseReferenceCheck>();
        services.AddSingleton<IAppReferenceCheck, ToolReferenceCheck>();
        services.TryAddSingleton<AppPublisher>();
        return services;
    }

    /// <summary>
    /// Moves apps and conversations to the cluster's PostgreSQL (<see cref="Sovereign.Data.PostgresDatabase"/>, which the
    /// host registers when SOV_DATABASE is set), so every node serves the same apps and a conversation kept on one
    /// node continues on another. Call after <see cref="AddSovereignApps"/>.
    /// </summary>
    public static IServiceCollection AddPostgresAppStores(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<IAppStore, PostgresAppStore>());
        services.Replace(ServiceDescriptor.Singleton<IConversationStore, PostgresConversationStore>());
        return services;
    }
}
