using Microsoft.Extensions.Options;
using Sovereign.Core.Options;
using Sovereign.Inference.Hosting;
using Sovereign.Server.Health;
using Sovereign.Web.Access;

namespace Sovereign.Server.WebUi;

/// <summary>What the health page needs from the server: its version, the models' memory budget, whether mirrors are set. Thread-safe.</summary>
internal sealed class WebServerFacts(IServiceProvider services, IOptions<SovereignOptions> options) : IServerFacts
{
    public string Version => HealthApi.Version;

    public long MemoryBudgetBytes =>
        services.GetService(typeof(ModelManager)) is ModelManager manager ? manager.MemoryBudget
        : options.Value.Engine.MemoryBudget > 0 ? options.Value.Engine.MemoryBudget
        : (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.75);

    public bool HasMirrors => options.Value.Mirrors.Any(m => !string.IsNullOrWhiteSpace(m));
}
