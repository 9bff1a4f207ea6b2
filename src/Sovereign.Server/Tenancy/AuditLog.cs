using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Sovereign.Core.Tenancy;
using Sovereign.Data;
using Sovereign.Server.Auth;

namespace Sovereign.Server.Tenancy;

/// <summary>One stored audit record. Immutable.</summary>
public sealed record AuditRecord(long Seq, string TenantId, DateTimeOffset At, string Actor, string Action, string Target, string Detail, string PrevHash, string Hash);

/// <summary>The result of checking the chain: fine, or the first place where it breaks.</summary>
/// <param name="Seq">The record at fault (for a deleted tail: the last one left).</param>
public sealed record AuditVerification(bool Intact, long Records, long? Seq, string? Problem);

/// <summary>
/// The audit chain: record n stores <c>hash(n) = SHA-256(prev_hash, seq, tenant, at, actor, action, target, detail)</c>
/// with <c>prev_hash</c> the hash of record n−1 (64 zeros for the first), and <c>audit_head</c> holds the last seq and
/// hash. Editing a record breaks its own hash; deleting one leaves a gap in seq or a broken link; deleting the newest
/// ones leaves the head pointing past the end. (Someone who can rewrite the whole file can rewrite the whole chain:
/// copy the head elsewhere to guard against that.) One chain for the whole node (for a cluster, the whole cluster), so every
/// tenant's records are covered.
/// </summary>
public static class AuditChain
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    public static string Hash(string prevHash, long seq, string tenant, long atMs, string actor, string action, string target, string detail)
    {
        // Length-prefixed fields, so no two different records hash the same text.
        var sb = new StringBuilder();
        foreach (var field in new[] { prevHash, seq.ToString(CultureInfo.InvariantCulture), tenant, atMs.ToString(CultureInfo.InvariantCulture), actor, action, target, detail })
            sb.Append(field.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(field).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>Walks the whole chain in seq order; reports the first break. Reads only.</summary>
    public static AuditVerification Verify(DbConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        long expected = 1, count = 0;
        var prev = Genesis;
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT seq, tenant_id, at, actor, action, target, detail, prev_hash, hash FROM audit_log ORDER BY seq";
            using var r = command.ExecuteReader();
            while (r.Read())
            {
                var seq = r.GetInt64(0);
                if (seq != expected)
                {
                    return seq > expected
                        ? new AuditVerification(false, count, expected, expected == seq - 1
                            ? $"record {expected} is missing (record {expected - 1} is followed by record {seq})."
                            : $"records {expected} to {seq - 1} are missing (record {expected - 1} is followed by record {seq}).")
                        : new AuditVerification(false, count, seq, $"record {seq} is out of sequence (expected {expected}).");
                }
                var prevHash = r.GetString(7);
                var hash = r.GetString(8);
                if (prevHash != prev)
                    return new AuditVerification(false, count, seq, $"record {seq} does not link to record {seq - 1} (its prev_hash differs from that record's hash).");
                var computed = Hash(prevHash, seq, r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6));
                if (computed != hash)
                    return new AuditVerification(false, count, seq, $"record {seq} was altered (its contents no longer match its hash).");
                prev = hash;
                expected++;
                count++;
            }
        }

        using var head = connection.CreateCommand();
        head.CommandText = "SELECT seq, hash FROM audit_head WHERE id = 1";
        using var h = head.ExecuteReader();
        var last = expected - 1;
        if (!h.Read())
            return count == 0 ? new AuditVerification(true, 0, null, null) : new AuditVerification(false, count, last, "the audit head is missing.");
        var headSeq = h.GetInt64(0);
        if (headSeq != last)
        {
            return headSeq > last
                ? new AuditVerification(false, count, last, $"records after {last} are missing (the head says the log ends at record {headSeq}).")
                : new AuditVerification(false, count, last, $"the head says the log ends at record {headSeq}, but it goes on to record {last}.");
        }
        if (h.GetString(1) != prev)
            return new AuditVerification(false, count, last, $"record {last} does not match the head's hash (the newest record was altered or replaced).");
        return new AuditVerification(true, count, null, null);
    }
}

/// <summary>Reads the audit log (the current tenant's records) and checks the chain.</summary>
public interface IAuditReader
{
    Task<IReadOnlyList<AuditRecord>> ListAsync(long? afterSeq, int limit, CancellationToken cancellationToken = default);
    AuditVerification Verify();
}

/// <summary>
/// The SQLite audit log. Appends are serialised by an immediate transaction (read head, insert, move head), so
/// concurrent writers, in this process or another, extend one chain. Thread-safe.
/// </summary>
internal sealed class SqliteAuditLog(SqliteDatabase database, TimeProvider time, IHttpContextAccessor http) : IAuditLog, IAuditReader
{
    public async Task AppendAsync(AuditEvent entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var tenant = TenantScope.Current ?? TenantScope.DefaultTenant;
        var actor = entry.Actor ?? http.HttpContext?.GetApiPrincipal()?.Actor ?? "system";
        var at = time.GetUtcNow().ToUnixTimeMilliseconds();
        var detail = entry.Detail ?? "";

        await using var connection = database.Open();
        await using var transaction = connection.BeginTransaction(deferred: false);
        long seq = 1;
        var prev = AuditChain.Genesis;
        await using (var head = connection.CreateCommand())
        {
            head.Transaction = transaction;
            head.CommandText = "SELECT seq, hash FROM audit_head WHERE id = 1";
            await using var r = await head.ExecuteReaderAsync(cancellationToken);
            if (await r.ReadAsync(cancellationToken))
            {
                seq = r.GetInt64(0) + 1;
                prev = r.GetString(1);
            }
        }
        var hash = AuditChain.Hash(prev, seq, tenant, at, actor, entry.Action, entry.Target, detail);
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO audit_log (seq, tenant_id, at, actor, action, target, detail, prev_hash, hash)
                VALUES ($seq, $tenant, $at, $actor, $action, $target, $detail, $prev, $hash);
                INSERT INTO audit_head (id, seq, hash) VALUES (1, $seq, $hash)
                    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash;
                """;
            insert.Parameters.AddWithValue("$seq", seq);
            insert.Parameters.AddWithValue("$tenant", tenant);
            insert.Parameters.AddWithValue("$at", at);
            insert.Parameters.AddWithValue("$actor", actor);
            insert.Parameters.AddWithValue("$action", entry.Action);
            insert.Parameters.AddWithValue("$target", entry.Target);
            insert.Parameters.AddWithValue("$detail", detail);
            insert.Parameters.AddWithValue("$prev", prev);
            insert.Parameters.AddWithValue("$hash", hash);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<AuditRecord>> ListAsync(long? afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT seq, tenant_id, at, actor, action, target, detail, prev_hash, hash FROM audit_log
            WHERE tenant_id = $tenant AND seq > $after ORDER BY seq LIMIT $limit
            """;
        command.Parameters.AddWithValue("$tenant", TenantScope.Require());
        command.Parameters.AddWithValue("$after", afterSeq ?? 0);
        command.Parameters.AddWithValue("$limit", limit);
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<AuditRecord>();
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new AuditRecord(r.GetInt64(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), r.GetString(3), r.GetString(4),
                r.GetString(5), r.GetString(6), r.GetString(7), r.GetString(8)));
        }
        return list;
    }

    public AuditVerification Verify()
    {
        using var connection = database.Open();
        return AuditChain.Verify(connection);
    }
}
