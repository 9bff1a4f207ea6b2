using System.Globalization;
using Microsoft.Data.Sqlite;
using Sovereign.Core.Options;

namespace Sovereign.Data;

/// <summary>
/// The node's SQLite database (<c>$SOV_HOME/sovereign.db</c>) in WAL mode: opens pooled connections and brings every
/// registered <see cref="SchemaModule"/> up to date. Thread-safe: every caller opens its own connection; SQLite
/// serialises the writers, and Microsoft.Data.Sqlite retries a busy database for up to the command timeout.
/// </summary>
public sealed class SqliteDatabase : IDisposable
{
    /// <summary>The platform's own tables: tenants and API keys. Other areas register their own modules.</summary>
    public static readonly SchemaModule Core = new("core",
    [
        """
        CREATE TABLE tenants (
            id          TEXT PRIMARY KEY,
            name        TEXT NOT NULL,
            created_at  INTEGER NOT NULL
        );
        INSERT INTO tenants (id, name, created_at) VALUES ('default', 'Default', CAST(strftime('%s', 'now') AS INTEGER));

        CREATE TABLE api_keys (
            id            TEXT PRIMARY KEY,
            tenant_id     TEXT NOT NULL DEFAULT 'default' REFERENCES tenants (id),
            name          TEXT NOT NULL,
            prefix        TEXT NOT NULL,
            hash          TEXT NOT NULL UNIQUE,
            scopes        TEXT NOT NULL,
            created_at    INTEGER NOT NULL,
            expires_at    INTEGER,
            revoked_at    INTEGER,
            last_used_at  INTEGER
        );
        CREATE INDEX ix_api_keys_tenant ON api_keys (tenant_id, created_at);
        """,
    ], Order: 0)
    {
        // The same tables in PostgreSQL; times stay Unix seconds, and ord keeps insertion order where SQLite uses rowid.
        PostgresMigrations =
        [
            """
            CREATE TABLE tenants (
                id          TEXT PRIMARY KEY,
                name        TEXT NOT NULL,
                created_at  BIGINT NOT NULL
            );
            INSERT INTO tenants (id, name, created_at) VALUES ('default', 'Default', EXTRACT(EPOCH FROM now())::BIGINT);

            CREATE TABLE api_keys (
                id            TEXT PRIMARY KEY,
                tenant_id     TEXT NOT NULL DEFAULT 'default' REFERENCES tenants (id),
                name          TEXT NOT NULL,
                prefix        TEXT NOT NULL,
                hash          TEXT NOT NULL UNIQUE,
                scopes        TEXT NOT NULL,
                created_at    BIGINT NOT NULL,
                expires_at    BIGINT,
                revoked_at    BIGINT,
                last_used_at  BIGINT,
                ord           BIGINT GENERATED ALWAYS AS IDENTITY
            );
            CREATE INDEX ix_api_keys_tenant ON api_keys (tenant_id, created_at);
            """,
        ],
    };

    private readonly string _connectionString;
    private readonly IReadOnlyList<SchemaModule> _modules;

    public SqliteDatabase(SovereignPaths paths, IEnumerable<SchemaModule> modules)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(modules);
        Path = paths.Database;
        _modules = [.. modules.Prepend(Core).DistinctBy(m => m.Name).OrderBy(m => m.Order).ThenBy(m => m.Name, StringComparer.Ordinal)];
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = paths.Database,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            ForeignKeys = true,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>The modules this database migrates, in migration order.</summary>
    public IReadOnlyList<SchemaModule> Modules => _modules;

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    /// <summary>
    /// Switches to WAL and applies every module's missing migrations in one immediate transaction (safe when two
    /// processes start at once). Returns the total number of migration steps the schema now has.
    /// </summary>
    public int Migrate()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        using var connection = Open();
        Execute(connection, null, "PRAGMA journal_mode = WAL;");

        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (module TEXT PRIMARY KEY, version INTEGER NOT NULL);");

        // Databases from before modules kept the core schema's version in PRAGMA user_version.
        var legacy = Convert.ToInt32(Scalar(connection, transaction, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
        if (legacy > 0)
        {
            Execute(connection, transaction, $"INSERT OR IGNORE INTO schema_migrations (module, version) VALUES ('core', {legacy}); PRAGMA user_version = 0;");
        }

        foreach (var module in _modules)
        {
            var found = Scalar(connection, transaction, "SELECT version FROM schema_migrations WHERE module = $m;", ("$m", module.Name));
            var version = found is null ? 0 : Convert.ToInt32(found, CultureInfo.InvariantCulture);
            if (version > module.Migrations.Count)
            {
                throw new InvalidOperationException(
                    $"The database {Path} has '{module.Name}' schema version {version}, newer than this build knows ({module.Migrations.Count}). Use a newer Sovereign or another Sovereign:Home.");
            }
            for (var next = version; next < module.Migrations.Count; next++)
            {
                Execute(connection, transaction, module.Migrations[next]);
            }
            if (module.Migrations.Count != version)
            {
                Execute(connection, transaction, "INSERT INTO schema_migrations (module, version) VALUES ($m, $v) ON CONFLICT (module) DO UPDATE SET version = excluded.version;",
                    ("$m", module.Name), ("$v", module.Migrations.Count));
            }
        }
        transaction.Commit();
        return _modules.Sum(m => m.Migrations.Count);
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return command.ExecuteScalar();
    }

    /// <summary>Closes pooled connections so the file is released (tests delete their data folders).</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }
}
