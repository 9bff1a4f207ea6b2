using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Options;
using Sovereign.Server.Auth;
using Sovereign.Data;

namespace Sovereign.Server.Hosting;

/// <summary>
/// What must be true before the first request: the data folder exists, the database schemas (SQLite, and PostgreSQL when
/// SOV_DATABASE is set) are current and an
/// admin key and a first owner account exist. Runs in <see cref="StartingAsync"/>, i.e. after options validation and before Kestrel listens.
/// </summary>
internal sealed class StartupTasks(SovereignPaths paths, SqliteDatabase database, IEnumerable<PostgresDatabase> sharedDatabase, AdminKeyBootstrapper adminKey, OwnerBootstrapper owner, ILogger<StartupTasks> logger)
    : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(paths.Root);
        logger.DataFolder(paths.Root);
        var version = database.Migrate();
        logger.DatabaseReady(paths.Database, version);
        foreach (var shared in sharedDatabase)
        {
            logger.SharedDatabaseReady(shared.Description, await shared.MigrateAsync(cancellationToken));
        }
        await adminKey.RunAsync(cancellationToken);
        await owner.RunAsync(cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
