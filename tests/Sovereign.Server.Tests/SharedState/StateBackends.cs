using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Agents;
using Sovereign.Apps;
using Sovereign.Core.Options;
using Sovereign.Data;
using Sovereign.Server.Auth;
using Sovereign.Server.Hosting;
using Sovereign.Server.Tenancy;

namespace Sovereign.Server.Tests.SharedState;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>
/// Where the shared-state stores of a test (tenancy, apps, conversations, agents) keep their state: one SQLite data folder, or one PostgreSQL database. Each
/// <see cref="NodeAsync"/> is a separate "node" (its own service provider, pools and caches) over that same state,
/// composed as the server composes itself.
/// </summary>
public abstract class TenancyBackend : IAsyncDisposable
{
    private readonly List<ServiceProvider> _nodes = [];
    private readonly string _home = Directory.CreateTempSubdirectory("sov-shared-state-").FullName;

    protected abstract Task<string?> DatabaseAsync();

    internal async Task<IServiceProvider> NodeAsync(TimeProvider time)
    {
        var database = await DatabaseAsync();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(database is null ? [] : [new("Sovereign:Database", database)])
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddSingleton(time);
        services.AddSingleton(new SovereignPaths(_home));
        services.AddSingleton<SqliteDatabase>();
        services.AddSingleton<IApiKeyStore, SqliteApiKeyStore>();
        services.AddSovereignTenancy();
        services.AddSovereignApps();
        services.AddSovereignAgents();
        services.AddSovereignSharedState(configuration);
        var node = services.BuildServiceProvider();
        lock (_nodes) _nodes.Add(node);

        node.GetRequiredService<SqliteDatabase>().Migrate();
        foreach (var shared in node.GetServices<PostgresDatabase>()) await shared.MigrateAsync();
        return node;
    }

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
        GC.SuppressFinalize(this);
    }
}

public sealed class SqliteTenancyBackend : TenancyBackend
{
    protected override Task<string?> DatabaseAsync() => Task.FromResult<string?>(null);
}

public sealed class PostgresTenancyBackend(PostgresServerFixture postgres) : TenancyBackend
{
    private readonly Lazy<Task<string>> _database = new(postgres.Server.CreateDatabaseAsync);

    protected override async Task<string?> DatabaseAsync() => await _database.Value;
}
