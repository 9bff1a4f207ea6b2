using Npgsql;
using Sovereign.Server.Tenancy;
using Sovereign.TestSupport.Postgres;

namespace Sovereign.Cli.Tests;

/// <summary>`sov audit verify` against a cluster's audit chain in a real PostgreSQL (SOV_DATABASE or --database).</summary>
public sealed class AuditCommandPostgresTests : IAsyncLifetime
{
    private PostgresInstance _postgres = null!;
    private string _database = null!;

    public async Task InitializeAsync()
    {
        _postgres = await PostgresInstance.StartAsync();
        _database = await _postgres.CreateDatabaseAsync();
    }

    public async Task DisposeAsync() => await _postgres.DisposeAsync();

    private async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(_database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task The_shared_chain_verifies_from_SOV_DATABASE_and_an_edited_record_fails_naming_it()
    {
        await ExecuteAsync("""
            CREATE TABLE audit_log (seq BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                target TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
            CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL);
            """);
        var prev = AuditChain.Genesis;
        for (var seq = 1L; seq <= 4; seq++)
        {
            var at = 1_700_000_000_000L + seq;
            var hash = AuditChain.Hash(prev, seq, "default", at, "system", "key.created", $"key_{seq}", "");
            await ExecuteAsync("""
                INSERT INTO audit_log VALUES (@seq, 'default', @at, 'system', 'key.created', @target, '', @prev, @hash);
                INSERT INTO audit_head (id, seq, hash) VALUES (1, @seq, @hash) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash;
                """, ("seq", seq), ("at", at), ("target", $"key_{seq}"), ("prev", prev), ("hash", hash));
            prev = hash;
        }
        var home = Directory.CreateTempSubdirectory("sov-audit-pg-").FullName;
        try
        {
            var intact = await Sov.RunAsync(new Dictionary<string, string> { ["SOV_HOME"] = home, ["SOV_DATABASE"] = _database }, "audit", "verify");
            Assert.Equal(0, intact.ExitCode);
            Assert.Contains("intact: 4 records", intact.Stdout, StringComparison.Ordinal);

            await ExecuteAsync("UPDATE audit_log SET target = 'key_other' WHERE seq = 2");
            var altered = await Sov.RunAsync(new Dictionary<string, string> { ["SOV_HOME"] = home }, "audit", "verify", "--database", _database);
            Assert.Equal(1, altered.ExitCode);
            Assert.Contains("record 2 was altered", altered.Stderr, StringComparison.Ordinal);

            var unreachable = await Sov.RunAsync(new Dictionary<string, string> { ["SOV_HOME"] = home }, "audit", "verify", "--database", "Host=127.0.0.1;Port=1;Database=x;Timeout=3");
            Assert.NotEqual(0, unreachable.ExitCode);
            Assert.Contains("cannot be read", unreachable.Stderr, StringComparison.Ordinal);
            Assert.Single(unreachable.Stderr.Trim().Split('\n'));
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
