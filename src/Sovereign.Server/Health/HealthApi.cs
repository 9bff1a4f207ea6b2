using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Cluster.Nodes;
using Sovereign.Cluster.Routing;
using Sovereign.Core.Generation;
using Sovereign.Models.Store;

namespace Sovereign.Server.Health;

/// <summary>
/// <c>GET /health</c>, unauthenticated: version, native backend, models in the store, models loaded now, and in a cluster
/// which node answered (its name, whether it drains, how many active members it sees), so an operator or a load balancer
/// can tell the nodes apart.
/// </summary>
internal static class HealthApi
{
    public static string Version { get; } =
        typeof(HealthApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(HealthApi).Assembly.GetName().Version?.ToString()
        ?? "0.0.0";

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", (HttpContext context, IInferenceService inference, IModelStore store) =>
            TypedResults.Json(new HealthReport("ok", Version, inference.Backend, store.List().Count, inference.Loaded()) { Node = Node(context.RequestServices) },
                ServerJsonContext.Default.HealthReport))
            .WithName("Health");
        return app;
    }

    private static HealthNode? Node(IServiceProvider services) =>
        services.GetService<LocalNode>() is { } node
            ? new HealthNode(node.Name, node.Id, node.Draining, services.GetRequiredService<ClusterDirectory>().Members().Count)
            : null;
}

internal sealed record HealthReport(string Status, string Version, string Backend, int Models, IReadOnlyList<LoadedModelInfo> Loaded)
{
    /// <summary>In a cluster, the node that answered; absent on a single server.</summary>
    public HealthNode? Node { get; init; }
}

/// <summary>This node in its cluster: its name (SOV_CLUSTER_NODE_NAME), its silo address, its drain, the active members it sees.</summary>
internal sealed record HealthNode(string Name, string Id, bool Draining, int Members);
