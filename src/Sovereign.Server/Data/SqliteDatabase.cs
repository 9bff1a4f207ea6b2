using Microsoft.Data.Sqlite;
using Sovereign.Core.Options;

namespace Sovereign.Server.Data;

/// <summary>
/// The node's SQLite database (<c>$SOV_HOME/sovereign.db</c>) in WAL mode: opens pooled connections and brings the
/// schema up to date. Thread-safe: every caller opens its own connection; SQLite serialises the writers, and
/// Microsoft.Data.Sqlite retries a busy database for up to the command timeout.
/// </summary>
internal sealed class SqliteDatabase : IDisposable
{
    /// <summary>
    /// The schema, one step per version (PRAGMA user_version). Append, never edit: a database at version N runs
    /// only the steps after N. Tenancy is modelled now (every row names its tenant) though only "default" exists.
    /// </summary>
    private static readonly string[] Migrations =
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
    ];

    private readonly string _connectionString;

    public SqliteDatabase(SovereignPaths paths)
    {
        Path = paths.Database;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = paths.Database,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            ForeignKeys = true,
        }.ToString();
    }

    public string Path { get; }

    public static int SchemaVersion => Migrations.Length;

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    /// <summary>Switches to WAL and applies missing migrations in one immediate transaction (safe when two processes start at once). Returns the schema version.</summary>
    public int Migrate()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        using var connection = Open();
        using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            wal.ExecuteNonQuery();
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        var version = Convert.ToInt32(Scalar(connection, transaction, "PRAGMA user_version;"), System.Globalization.CultureInfo.InvariantCulture);
        if (version > Migrations.Length)
        {
            throw new InvalidOperationException(
                $"The database {Path} has schema version {version}, newer than this build knows ({Migrations.Length}). Use a newer Sovereign or another Sovereign:Home.");
        }
        for (var next = version; next < Migrations.Length; next++)
        {
            using var step = connection.CreateCommand();
            step.Transaction = transaction;
            step.CommandText = Migrations[next] + $"\nPRAGMA user_version = {next + 1};";
            step.ExecuteNonQuery();
        }
        transaction.Commit();
        return Migrations.Length;
    }

    private static object? Scalar(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>Closes pooled connections so the file is released (tests delete their data folders).</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }
}
