using Microsoft.Data.Sqlite;
using Sovereign.Server.Tenancy;

namespace Sovereign.Cli.Tests;

/// <summary>`sov audit verify` against a database file, before and after someone edits it directly.</summary>
public sealed class AuditCommandTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sov-audit-cli-").FullName;

    private string Database => Path.Combine(_home, "sovereign.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_home, recursive: true);
    }

    /// <summary>A chain of <paramref name="count"/> records as the server writes them (same tables, same hash).</summary>
    private void WriteChain(int count)
    {
        using var db = new SqliteConnection($"Data Source={Database};Pooling=False");
        db.Open();
        using var create = db.CreateCommand();
        create.CommandText = """
            CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                target TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
            CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
            """;
        create.ExecuteNonQuery();
        var prev = AuditChain.Genesis;
        for (var seq = 1; seq <= count; seq++)
        {
            var at = 1_700_000_000_000L + seq;
            var hash = AuditChain.Hash(prev, seq, "default", at, "key:key_admin", "key.created", $"key_{seq}", "'k' with scope inference");
            using var insert = db.CreateCommand();
            insert.CommandText = """
                INSERT INTO audit_log VALUES ($seq, 'default', $at, 'key:key_admin', 'key.created', $target, '''k'' with scope inference', $prev, $hash);
                INSERT INTO audit_head (id, seq, hash) VALUES (1, $seq, $hash) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash;
                """;
            insert.Parameters.AddWithValue("$seq", seq);
            insert.Parameters.AddWithValue("$at", at);
            insert.Parameters.AddWithValue("$target", $"key_{seq}");
            insert.Parameters.AddWithValue("$prev", prev);
            insert.Parameters.AddWithValue("$hash", hash);
            insert.ExecuteNonQuery();
            prev = hash;
        }
    }

    private void Execute(string sql)
    {
        using var db = new SqliteConnection($"Data Source={Database};Pooling=False");
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private Task<Sov.Result> VerifyAsync() => Sov.RunAsync(new Dictionary<string, string> { ["SOV_HOME"] = _home }, "audit", "verify");

    [Fact]
    public async Task An_intact_chain_verifies_and_an_edited_record_fails_naming_it()
    {
        WriteChain(5);
        var intact = await VerifyAsync();
        Assert.Equal(0, intact.ExitCode);
        Assert.Contains("intact: 5 records", intact.Stdout, StringComparison.Ordinal);

        Execute("UPDATE audit_log SET detail = 'harmless' WHERE seq = 3");
        var altered = await VerifyAsync();
        Assert.Equal(1, altered.ExitCode);
        Assert.Contains("BROKEN at record 3", altered.Stderr, StringComparison.Ordinal);
        Assert.Contains("record 3 was altered", altered.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_record_fails_naming_the_gap()
    {
        WriteChain(5);
        Execute("DELETE FROM audit_log WHERE seq = 2");

        var result = await VerifyAsync();

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("record 2 is missing (record 1 is followed by record 3)", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_database_is_a_one_line_error()
    {
        var result = await VerifyAsync();

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("No database at", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }
}
