using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Cluster;
using Sovereign.Core.Errors;
using Sovereign.Server.Admin;

namespace Sovereign.Server.Cluster;

/// <summary>
/// The cluster admin API (operator only): <c>GET /admin/cluster</c> lists the nodes with their health, loaded models and
/// queue depths; <c>POST /admin/cluster/nodes/{node}/drain</c> drains one (by name or address). Any node answers for the
/// whole cluster. A server that is not in a cluster answers 404 <c>cluster_not_configured</c>.
/// </summary>
internal static class ClusterApi
{
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        var cluster = app.MapGroup("/admin/cluster");
        cluster.MapGet("", StatusAsync).WithName("ClusterStatus");
        cluster.MapPost("/nodes/{node}/drain", DrainAsync).WithName("DrainClusterNode");
        return app;
    }

    private static async Task<IResult> StatusAsync(HttpContext context, CancellationToken cancellationToken)
    {
        AdminAccess.RequireOperator(context);
        var nodes = await Admin(context).StatusAsync(cancellationToken);
        return TypedResults.Json(new ClusterStatusObject("cluster", [.. nodes.Select(ClusterNodeObject.From)]), ClusterJsonContext.Default.ClusterStatusObject);
    }

    private static async Task<IResult> DrainAsync(HttpContext context, string node, CancellationToken cancellationToken)
    {
        AdminAccess.RequireOperator(context);
        var status = await Admin(context).DrainAsync(node, cancellationToken);
        return TypedResults.Json(ClusterNodeObject.From(status), ClusterJsonContext.Default.ClusterNodeObject, statusCode: StatusCodes.Status202Accepted);
    }

    private static IClusterAdmin Admin(HttpContext context) =>
        context.RequestServices.GetService<IClusterAdmin>()
        ?? throw SovereignException.NotFound("This server is not part of a cluster: start it with SOV_CLUSTER_REDIS and SOV_CLUSTER_SECRET set.", code: "cluster_not_configured");
}

internal sealed record ClusterStatusObject(string Object, IReadOnlyList<ClusterNodeObject> Data);

internal sealed record ClusterNodeObject(string Id, string Name, string Health, bool Local, int? Cores, int? Gpus, long? MemoryBudgetBytes,
    long? MemoryUsedBytes, int? InFlight, IReadOnlyList<string>? Models, IReadOnlyList<ClusterLoadedModelObject>? Loaded, string? VectorSearch)
{
    public static ClusterNodeObject From(NodeStatus s) => new(s.Id, s.Name, s.Health, s.Local, s.Report?.Cores, s.Report?.Gpus,
        s.Report?.MemoryBudgetBytes, s.Report?.MemoryUsedBytes, s.Report?.InFlight,
        s.Report?.Models.Select(m => m.Reference).ToList(),
        s.Report?.Loaded.Select(m => new ClusterLoadedModelObject(m.Reference, m.Slots, m.Depth, m.MemoryBytes)).ToList(),
        s.Report?.VectorSearch);
}

internal sealed record ClusterLoadedModelObject(string Name, int Slots, int QueueDepth, long MemoryBytes);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ClusterStatusObject))]
[JsonSerializable(typeof(ClusterNodeObject))]
internal sealed partial class ClusterJsonContext : JsonSerializerContext;
