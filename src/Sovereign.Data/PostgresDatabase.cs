using System.Globalization;
using Npgsql;

namespace Sovereign.Data;

/// <summary>
/// The platform's shared PostgreSQL database (<c>SOV_DATABASE</c>), which several nodes use at once: one pooled
/// <see cref="NpgsqlDataSource"/>, and every registered <see cref="SchemaModule"/>'s
/// <see cref="SchemaModule.PostgresMigrations"/> brought up to date. Thread-safe: every caller opens its own connection.
/// Stores that must serialise work across nodes (the audit chain, request windows) take transaction-scoped advisory
/// locks (<see cref="LockAsync"/>), never locks in this process.
/// </summary>
public sealed class PostgresDatabase : IDisposable, IAsyncDisposable
{
    // Arbitrary but fixed: every node must take the same lock to migrate.
    private const long MigrationLock = 0x534f_5645_0001;

    private readonly Lazy<NpgsqlDataSource> _dataSource;
    private readonly IReadOnlyList<SchemaModule> _modules;

    /// <remarks>
    /// Neither connects nor throws for a malformed <paramref name="connectionString"/>: the host constructs this before it
    /// validates options, and the validator must be the one to report it, naming the setting. The first open fails instead.
    /// </remarks>
    public PostgresDatabase(string connectionString, IEnumerable<SchemaModule> modules)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(modules);
        Description = Describe(connectionString);
        _dataSource = new Lazy<NpgsqlDataSource>(() =>
        {
            // pgvector's type is mapped whether or not the database has the extension: Npgsql resolves it only where
            // the type exists (see ReloadTypesAsync for an extension created after the first connection).
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            builder.UseVector();
            return builder.Build();
        });
        _modules = [.. modules.Prepend(SqliteDatabase.Core).DistinctBy(m => m.Name).Where(m => m.PostgresMigrations.Count > 0)
            .OrderBy(m => m.Order).ThenBy(m => m.Name, StringComparer.Ordinal)];
    }

    private static string Describe(string connectionString)
    {
        try
        {
            var parsed = new NpgsqlConnectionStringBuilder(connectionString);
            return $"{parsed.Host}:{parsed.Port}/{parsed.Database}";
        }
        catch (ArgumentException)
        {
            return "(an invalid connection string)";
        }
    }

    /// <summary>Host, port and database, without credentials, for logs.</summary>
    public string Description { get; }

    /// <summary>The modules this database migrates (those with PostgreSQL migrations), in migration order.</summary>
    public IReadOnlyList<SchemaModule> Modules => _modules;

    public ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken = default) => _dataSource.Value.OpenConnectionAsync(cancellationToken);

    public NpgsqlConnection Open() => _dataSource.Value.OpenConnection();

    /// <summary>
    /// Reads the database's types again, for a type created after the first connection (an extension such as
    /// pgvector's <c>vector</c>): until then Npgsql cannot send or read values of it.
    /// </summary>
    public Task ReloadTypesAsync(CancellationToken cancellationToken = default) => _dataSource.Value.ReloadTypesAsync(cancellationToken);

    /// <summary>
    /// Takes a transaction-scoped advisory lock on <paramref name="name"/> (held until the transaction ends), so that
    /// every node doing the same thing queues behind it.
    /// </summary>
    public static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@name, 0))", connection, transaction);
        command.Parameters.AddWithValue("name", name);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Applies every module's missing migrations in one transaction under an advisory lock, so nodes starting at once
    /// migrate once. Returns the total number of migration steps the schema now has.
    /// </summary>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken = default)
    {
        NpgsqlConnection connection;
        try
        {
            connection = await OpenAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException($"Cannot open the shared database {Description} (Sovereign:Database, SOV_DATABASE): {e.Message}", e);
        }
        await using var _ = connection;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLock})", cancellationToken);
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (module TEXT PRIMARY KEY, version INTEGER NOT NULL)", cancellationToken);

        foreach (var module in _modules)
        {
            await using var find = new NpgsqlCommand("SELECT version FROM schema_migrations WHERE module = @m", connection, transaction);
            find.Parameters.AddWithValue("m", module.Name);
            var found = await find.ExecuteScalarAsync(cancellationToken);
            var version = found is null ? 0 : Convert.ToInt32(found, CultureInfo.InvariantCulture);
            if (version > module.PostgresMigrations.Count)
            {
                throw new InvalidOperationException(
                    $"The database {Description} has '{module.Name}' schema version {version}, newer than this build knows ({module.PostgresMigrations.Count}). Upgrade this node to the cluster's Sovereign version.");
            }
            for (var next = version; next < module.PostgresMigrations.Count; next++)
            {
                await ExecuteAsync(connection, transaction, module.PostgresMigrations[next], cancellationToken);
            }
            if (module.PostgresMigrations.Count != version)
            {
                await using var record = new NpgsqlCommand(
                    "INSERT INTO schema_migrations (module, version) VALUES (@m, @v) ON CONFLICT (module) DO UPDATE SET version = excluded.version", connection, transaction);
                record.Parameters.AddWithValue("m", module.Name);
                record.Parameters.AddWithValue("v", module.PostgresMigrations.Count);
                await record.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        await transaction.CommitAsync(cancellationToken);
        return _modules.Sum(m => m.PostgresMigrations.Count);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public void Dispose()
    {
        if (_dataSource.IsValueCreated) _dataSource.Value.Dispose();
    }

    public ValueTask DisposeAsync() => _dataSource.IsValueCreated ? _dataSource.Value.DisposeAsync() : ValueTask.CompletedTask;
}
