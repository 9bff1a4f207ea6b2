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
}
