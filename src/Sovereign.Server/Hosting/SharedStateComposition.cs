using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sovereign.Agents;
using Sovereign.Apps;
using Sovereign.Core.Options;
using Sovereign.Core.Tenancy;
using Sovereign.Data;
using Sovereign.Knowledge;
using Sovereign.Server.Auth;
using Sovereign.Server.Tenancy;

namespace Sovereign.Server.Hosting;

/// <summary>
/// Cluster state: when <c>Sovereign:Database</c> (SOV_DATABASE) names a PostgreSQL database, the stores whose state
/// every node must see (tenants, users, keys, quotas, request windows and running generations, usage, audit, session-cookie keys, apps,
/// conversations, agents and their runs, knowledge bases with their documents' originals, chunks, vectors and full text)
/// move there, behind the same interfaces. Without it nothing changes: the node keeps everything in its SQLite database.
/// </summary>
internal static class SharedStateComposition
{
    public static IServiceCollection AddSovereignSharedState(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = configuration[SovereignOptions.Section + ":" + nameof(SovereignOptions.Database)];
        if (string.IsNullOrWhiteSpace(connectionString)) return services;

        services.AddSingleton(sp => new PostgresDatabase(connectionString, sp.GetServices<SchemaModule>()));
        services.Replace(ServiceDescriptor.Singleton<IApiKeyStore, PostgresApiKeyStore>());
        services.Replace(ServiceDescriptor.Singleton<ITenantStore, PostgresTenantStore>());
        services.Replace(ServiceDescriptor.Singleton<IUserStore, PostgresUserStore>());
        services.Replace(ServiceDescriptor.Singleton<IQuotaStore, PostgresQuotaStore>());
        services.Replace(ServiceDescriptor.Singleton<IRequestWindows, PostgresRequestWindows>());
        services.Replace(ServiceDescriptor.Singleton<IGenerationSlots, PostgresGenerationSlots>());
        services.Replace(ServiceDescriptor.Singleton<IUsageStore, PostgresUsageStore>());
        services.TryAddSingleton<PostgresAuditLog>();
        services.Replace(ServiceDescriptor.Singleton<IAuditLog>(sp => sp.GetRequiredService<PostgresAuditLog>()));
        services.Replace(ServiceDescriptor.Singleton<IAuditReader>(sp => sp.GetRequiredService<PostgresAuditLog>()));
        services.AddPostgresAppStores();
        services.AddPostgresAgentStores();
        services.AddPostgresKnowledge();

        // A session cookie issued by one node must open on every other: one key ring, one application name.
        services.AddDataProtection().SetApplicationName("Sovereign");
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp =>
            new ConfigureOptions<KeyManagementOptions>(o => o.XmlRepository = new PostgresXmlRepository(sp.GetRequiredService<PostgresDatabase>())));
        return services;
    }
}

/// <summary>ASP.NET Core data-protection keys in the shared <c>data_protection_keys</c> table. Thread-safe.</summary>
internal sealed class PostgresXmlRepository(PostgresDatabase database) : IXmlRepository
{
    public IReadOnlyCollection<System.Xml.Linq.XElement> GetAllElements()
    {
        using var connection = database.Open();
        using var command = new Npgsql.NpgsqlCommand("SELECT xml FROM data_protection_keys ORDER BY name", connection);
        using var reader = command.ExecuteReader();
        var elements = new List<System.Xml.Linq.XElement>();
        while (reader.Read()) elements.Add(System.Xml.Linq.XElement.Parse(reader.GetString(0)));
        return elements;
    }

    public void StoreElement(System.Xml.Linq.XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        using var connection = database.Open();
        using var command = new Npgsql.NpgsqlCommand("INSERT INTO data_protection_keys (name, xml) VALUES (@name, @xml) ON CONFLICT (name) DO NOTHING", connection);
        command.Parameters.AddWithValue("name", string.IsNullOrEmpty(friendlyName) ? Guid.NewGuid().ToString("N") : friendlyName);
        command.Parameters.AddWithValue("xml", element.ToString(System.Xml.Linq.SaveOptions.DisableFormatting));
        command.ExecuteNonQuery();
    }
}
