using Microsoft.Data.Sqlite;
using Sovereign.Core.Options;
using Sovereign.Data;

namespace Sovereign.Server.Tests.Hosting;

public sealed class SchemaMigrationTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sov-schema-").FullName;

    [Fact]
    public void Each_area_module_gets_its_tables_and_rerunning_migrate_changes_nothing()
    {
        var notes = new SchemaModule("notes", ["CREATE TABLE notes (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id));"]);
        using var database = new SqliteDatabase(new SovereignPaths(_home), [notes]);

        Assert.Equal(2, database.Migrate());
        Assert.Equal(2, database.Migrate());

        using var connection = database.Open();
        Assert.Equal(1L, Scalar(connection, "SELECT version FROM schema_migrations WHERE module = 'notes'"));
        Assert.Equal(1L, Scalar(connection, "SELECT version FROM schema_migrations WHERE module = 'core'"));
        Assert.Equal(0L, Scalar(connection, "SELECT count(*) FROM notes"));
    }

    [Fact]
    public void A_module_that_gains_a_step_runs_only_the_new_step()
    {
        var paths = new SovereignPaths(_home);
        using (var first = new SqliteDatabase(paths, [new SchemaModule("notes", ["CREATE TABLE notes (id INTEGER PRIMARY KEY);"])]))
        {
            first.Migrate();
            using var connection = first.Open();
            Execute(connection, "INSERT INTO notes (id) VALUES (7)");
        }

        using var second = new SqliteDatabase(paths, [new SchemaModule("notes", ["CREATE TABLE notes (id INTEGER PRIMARY KEY);", "ALTER TABLE notes ADD COLUMN body TEXT;"])]);
        second.Migrate();
        using var again = second.Open();
        Assert.Equal(7L, Scalar(again, "SELECT id FROM notes WHERE body IS NULL"));
    }

    [Fact]
    public void A_database_from_before_modules_keeps_its_keys_and_is_recorded_as_core_version_1()
    {
        var paths = new SovereignPaths(_home);
        using (var legacy = new SqliteConnection($"Data Source={paths.Database}"))
        {
            legacy.Open();
            Execute(legacy, SqliteDatabase.Core.Migrations[0] + "PRAGMA user_version = 1;");
            Execute(legacy, "INSERT INTO api_keys (id, name, prefix, hash, scopes, created_at) VALUES ('k1', 'old', 'sk-old', 'h', 'admin', 0)");
        }
        SqliteConnection.ClearAllPools();

        using var database = new SqliteDatabase(paths, []);
        database.Migrate();
        using var connection = database.Open();
        Assert.Equal("old", Scalar(connection, "SELECT name FROM api_keys WHERE id = 'k1'"));
        Assert.Equal(1L, Scalar(connection, "SELECT version FROM schema_migrations WHERE module = 'core'"));
    }

    [Fact]
    public void A_database_newer_than_the_build_is_refused_with_the_module_named()
    {
        var paths = new SovereignPaths(_home);
        using (var newer = new SqliteDatabase(paths, [new SchemaModule("notes", ["SELECT 1;", "SELECT 2;"])]))
        {
            newer.Migrate();
        }
        using var older = new SqliteDatabase(paths, [new SchemaModule("notes", ["SELECT 1;"])]);
        var refused = Assert.Throws<InvalidOperationException>(() => older.Migrate());
        Assert.Contains("'notes' schema version 2", refused.Message, StringComparison.Ordinal);
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_home, recursive: true);
    }
}
