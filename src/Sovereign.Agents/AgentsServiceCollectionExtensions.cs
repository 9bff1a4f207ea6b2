using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sovereign.Agents.Model;
using Sovereign.Agents.Runs;
using Sovereign.Agents.Storage;
using Sovereign.Agents.Tools;

namespace Sovereign.Agents;

public static class AgentsServiceCollectionExtensions
{
    /// <summary>
    /// The agents area: its schema module, stores, built-in tools, MCP client, the loop and the run service. Options bind
    /// from <c>Sovereign:Agents</c>. Needs <c>IInferenceService</c>, <c>SqliteDatabase</c> and <c>SovereignOptions</c>
    /// from the host; uses <c>IKnowledgeSearch</c> when the knowledge area registered one.
    /// </summary>
    public static IServiceCollection AddSovereignAgents(this IServiceCollection services)
    {
        services.AddOptions<AgentsOptions>().BindConfiguration(AgentsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(AgentsSchema.Module);
        services.TryAddSingleton<IAgentStore, SqliteAgentStore>();
        services.TryAddSingleton<IAgentRunStore, SqliteAgentRunStore>();
        services.TryAddSingleton<IAgentModel, InferenceAgentModel>();
        services.AddSingleton<AgentToolFactory>();
        services.AddSingleton<AgentRunner>();
        services.AddSingleton<AgentRunService>();
        services.AddHostedService<AgentRunRecovery>();
        return services;
    }

    /// <summary>
    /// Moves agents, runs and traces to the cluster's PostgreSQL (<see cref="Sovereign.Data.PostgresDatabase"/>, which the
    /// host registers when SOV_DATABASE is set), beside the tenants they belong to. Call after <see cref="AddSovereignAgents"/>.
    /// </summary>
    public static IServiceCollection AddPostgresAgentStores(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<IAgentStore, PostgresAgentStore>());
        services.Replace(ServiceDescriptor.Singleton<IAgentRunStore, PostgresAgentRunStore>());
        return services;
    }
}
