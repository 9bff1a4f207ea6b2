using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sovereign.Core.Tenancy;
using Sovereign.Server.Admin;
using Sovereign.Server.Auth;

namespace Sovereign.Server.Tenancy;

/// <summary>The tenancy area: tenants, users, web sign-in, quotas, usage and the audit log.</summary>
internal static class TenancyComposition
{
    public static IServiceCollection AddSovereignTenancy(this IServiceCollection services)
    {
        services.AddSingleton(TenancySchema.Module);
        services.AddHttpContextAccessor();
        services.AddSovereignWebSessions();
        services.TryAddSingleton<ITenantStore, SqliteTenantStore>();
        services.TryAddSingleton<IUserStore, SqliteUserStore>();
        services.TryAddSingleton<IQuotaStore, SqliteQuotaStore>();
        services.TryAddSingleton<IRequestWindows, InMemoryRequestWindows>();
        services.TryAddSingleton<IGenerationSlots, InMemoryGenerationSlots>();
        services.TryAddSingleton<IQuotaEnforcer, QuotaEnforcer>();
        services.TryAddSingleton<IUsageStore, SqliteUsageStore>();
        services.TryAddSingleton<SqliteAuditLog>();
        services.TryAddSingleton<IAuditLog>(sp => sp.GetRequiredService<SqliteAuditLog>());
        services.TryAddSingleton<IAuditReader>(sp => sp.GetRequiredService<SqliteAuditLog>());
        services.TryAddSingleton<GenerationMeter>();
        services.TryAddSingleton<OwnerBootstrapper>();
        return services;
    }

    /// <summary>Maps /auth, /admin/tenants, /admin/users, /admin/audit and /v1/usage.</summary>
    public static WebApplication MapTenancyApi(this WebApplication app)
    {
        app.MapAuthApi();
        app.MapTenantsApi();
        app.MapUsersApi();
        app.MapAuditApi();
        app.MapUsageApi();
        return app;
    }
}
