using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Core.Options;
using Sovereign.Models.Distribution;
using Sovereign.Models.Store;

namespace Sovereign.Server.Mirror;

/// <summary>Registers pulling from mirrors (<see cref="IModelPuller"/>) and the settings it reads.</summary>
internal static class MirrorComposition
{
    public static IServiceCollection AddSovereignMirror(this IServiceCollection services)
    {
        // SOV_MIRRORS and --Sovereign:Mirrors=… arrive as one comma-separated value, which binding to a list ignores;
        // it is kept as one entry here and split by MirrorSettings (and checked by the options validator).
        services.AddOptions<SovereignOptions>().PostConfigure<IConfiguration>((options, configuration) =>
        {
            var joined = configuration[$"{SovereignOptions.Section}:{nameof(SovereignOptions.Mirrors)}"];
            if (!string.IsNullOrWhiteSpace(joined) && !options.Mirrors.Contains(joined)) options.Mirrors.Insert(0, joined);
        });
        services.TryAddSingleton<IModelPuller>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SovereignOptions>>().Value;
            var time = sp.GetService<TimeProvider>();
            var store = sp.GetService<FileModelStore>() ?? sp.GetRequiredService<IModelStore>() as FileModelStore
                ?? new FileModelStore(sp.GetRequiredService<SovereignPaths>(), sp.GetService<ILogger<FileModelStore>>(), time);
            var puller = new FileModelPuller(store, MirrorSettings.From(options), sp.GetService<ILogger<FileModelPuller>>(), time);
            return sp.GetService<Core.Tenancy.IAuditLog>() is { } audit ? new Tenancy.AuditedModelPuller(puller, audit) : puller;
        });
        return services;
    }
}
