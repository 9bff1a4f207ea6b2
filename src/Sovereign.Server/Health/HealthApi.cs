using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sovereign.Core.Generation;
using Sovereign.Models.Store;

namespace Sovereign.Server.Health;

/// <summary><c>GET /health</c>, unauthenticated: version, native backend, models in the store, models loaded now.</summary>
internal static class HealthApi
{
    public static string Version { get; } =
        typeof(HealthApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(HealthApi).Assembly.GetName().Version?.ToString()
        ?? "0.0.0";

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", (IInferenceService inference, IModelStore store) =>
            TypedResults.Json(new HealthReport("ok", Version, inference.Backend, store.List().Count, inference.Loaded()),
                ServerJsonContext.Default.HealthReport))
            .WithName("Health");
        return app;
    }
}

internal sealed record HealthReport(string Status, string Version, string Backend, int Models, IReadOnlyList<LoadedModelInfo> Loaded);
