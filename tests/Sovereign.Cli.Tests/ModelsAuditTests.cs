using Microsoft.Data.Sqlite;
using Npgsql;
using Sovereign.TestSupport.Postgres;

namespace Sovereign.Cli.Tests;

/// <summary>
/// `sov models` changes the store without the server, and still leaves its records in the audit chain the server keeps:
/// the node's SQLite database, or the cluster's PostgreSQL with SOV_DATABASE.
/// </summary>
public sealed class ModelsAuditTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sov-models-audit-").FullName;

    private Dictionary<string, string> Env => new() { ["SOV_HOME"] = _home };

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_home, recursive: true);
    }

    private static async Task Ok(Dictionary<string, string> env, params string[] args)
    {
        var result = await Sov.RunAsync(env, args);
        Assert.True(result.ExitCode == 0, $"sov {string.Join(' ', args)}: {result.Output}");
    }

    private List<(string Actor, string Action, string Target, string Detail)> SqliteRecords()
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(_home, "sovereign.db")};Pooling=False");
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = "SELECT actor, action, target, detail FROM audit_log ORDER BY seq";
        using var r = command.ExecuteReader();
        var records = new List<(string, string, string, string)>();
        while (r.Read()) records.Add((r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3)));
        return records;
    }

    [Fact]
    public async Task Import_template_and_remove_in_a_shell_are_audited_and_the_chain_verifies()
    {
        await Ok(Env, "models", "list");
        Assert.False(File.Exists(Path.Combine(_home, "sovereign.db")), "Reading the store must not create the database.");

        await Ok(Env, "models", "import", Sov.Stories260K, "--name", "stories:v1");
        await Ok(Env, "models", "template", "stories:v1", "chatml");
        await Ok(Env, "models", "rm", "stories:v1");
        var failed = await Sov.RunAsync(Env, "models", "rm", "stories:v1");
        Assert.Equal(1, failed.ExitCode);

        var records = SqliteRecords();
        Assert.Equal(["model.imported", "settings.changed", "model.removed"], records.Select(r => r.Action));
        Assert.All(records, r => Assert.Equal("cli:" + Environment.UserName, r.Actor));
        Assert.All(records, r => Assert.Equal("stories:v1", r.Target));
        Assert.Contains("sha256:270cba1b", records[0].Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(Sov.Stories260K, records[0].Detail, StringComparison.Ordinal); // paths may name people

        var verify = await Sov.RunAsync(Env, "audit", "verify");
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("intact: 3 records", verify.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_SOV_DATABASE_the_record_goes_to_the_clusters_chain()
    {
        await using var postgres = await PostgresInstance.StartAsync();
        var database = await postgres.CreateDatabaseAsync();
        var env = new Dictionary<string, string>(Env) { ["SOV_DATABASE"] = database };

        await Ok(env, "models", "import", Sov.Stories260K, "--name", "shared");

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT actor, action, target FROM audit_log ORDER BY seq", connection);
        await using var r = await command.ExecuteReaderAsync();
        Assert.True(await r.ReadAsync());
        Assert.Equal(("cli:" + Environment.UserName, "model.imported", "shared:latest"), (r.GetString(0), r.GetString(1), r.GetString(2)));
        Assert.False(await r.ReadAsync());
        Assert.False(File.Exists(Path.Combine(_home, "sovereign.db")) && SqliteRecordsOrNone().Count > 0, "The record belongs in PostgreSQL only.");
    }

    private List<(string Actor, string Action, string Target, string Detail)> SqliteRecordsOrNone()
    {
        try
        {
            return SqliteRecords();
        }
        catch (SqliteException)
        {
            return [];
        }
    }
}
