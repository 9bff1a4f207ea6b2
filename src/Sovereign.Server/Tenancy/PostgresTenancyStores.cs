using Microsoft.AspNetCore.Http;
using Npgsql;
using Sovereign.Core.Tenancy;
using Sovereign.Data;
using Sovereign.Server.Auth;

namespace Sovereign.Server.Tenancy;

/// <summary>Quota limits and token counters in the cluster's PostgreSQL, so every node enforces the same limits against the same counts. Thread-safe.</summary>
internal sealed class PostgresQuotaStore(PostgresDatabase database) : IQuotaStore
{
    public async Task<QuotaLimits> GetAsync(string subject, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT requests_per_minute, tokens_per_day, tokens_per_month, concurrent_generations FROM quota_limits WHERE subject = @s", connection);
        command.Parameters.AddWithValue("s", subject);
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        if (!await r.ReadAsync(cancellationToken)) return QuotaLimits.None;
        return new QuotaLimits(r.IsDBNull(0) ? null : r.GetInt32(0), r.IsDBNull(1) ? null : r.GetInt64(1), r.IsDBNull(2) ? null : r.GetInt64(2), r.IsDBNull(3) ? null : r.GetInt32(3));
    }

    public async Task SetAsync(string subject, string tenantId, QuotaLimits limits, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            INSERT INTO quota_limits (subject, tenant_id, requests_per_minute, tokens_per_day, tokens_per_month, concurrent_generations)
            VALUES (@s, @t, @rpm, @day, @month, @conc)
            ON CONFLICT (subject) DO UPDATE SET requests_per_minute = excluded.requests_per_minute, tokens_per_day = excluded.tokens_per_day,
                tokens_per_month = excluded.tokens_per_month, concurrent_generations = excluded.concurrent_generations
            """, connection);
        command.Parameters.AddWithValue("s", subject);
        command.Parameters.AddWithValue("t", tenantId);
        command.Parameters.Add(PostgresValues.Int32("rpm", limits.RequestsPerMinute));
        command.Parameters.Add(PostgresValues.Int64("day", limits.TokensPerDay));
        command.Parameters.Add(PostgresValues.Int64("month", limits.TokensPerMonth));
        command.Parameters.Add(PostgresValues.Int32("conc", limits.ConcurrentGenerations));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<long> TokensUsedAsync(string subject, string period, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT tokens FROM token_counters WHERE subject = @s AND period = @p", connection);
        command.Parameters.AddWithValue("s", subject);
        command.Parameters.AddWithValue("p", period);
        return await command.ExecuteScalarAsync(cancellationToken) is long n ? n : 0;
    }
}

/// <summary>
/// Requests-per-minute windows in the cluster's PostgreSQL (<c>request_window</c>), so a limit counts the requests
/// every node took. Each check holds advisory locks on its subjects (taken in a fixed order, so two checks cannot
/// deadlock) from the count to the insert; windows are pruned as they are read. Thread-safe.
/// </summary>
internal sealed class PostgresRequestWindows(PostgresDatabase database) : IRequestWindows
{
    public async ValueTask<RequestWindowRefusal?> TryCountAsync(IReadOnlyList<RequestWindow> windows, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var lengthMs = (long)IRequestWindows.Length.TotalMilliseconds;
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var subject in windows.Select(w => w.Subject).Distinct().Order(StringComparer.Ordinal))
        {
            await PostgresDatabase.LockAsync(connection, transaction, "request_window:" + subject, cancellationToken);
        }

        for (var i = 0; i < windows.Count; i++)
        {
            await using (var prune = new NpgsqlCommand("DELETE FROM request_window WHERE subject = @s AND at_ms <= @expired", connection, transaction))
            {
                prune.Parameters.AddWithValue("s", windows[i].Subject);
                prune.Parameters.AddWithValue("expired", nowMs - lengthMs);
                await prune.ExecuteNonQueryAsync(cancellationToken);
            }
            await using var count = new NpgsqlCommand("SELECT COUNT(*), MIN(at_ms) FROM request_window WHERE subject = @s", connection, transaction);
            count.Parameters.AddWithValue("s", windows[i].Subject);
            await using var r = await count.ExecuteReaderAsync(cancellationToken);
            await r.ReadAsync(cancellationToken);
            var used = r.GetInt64(0);
            if (used >= windows[i].Limit)
            {
                var oldest = r.GetInt64(1);
                await r.DisposeAsync();
                await transaction.CommitAsync(cancellationToken);
                return new RequestWindowRefusal(i, (int)used, TimeSpan.FromMilliseconds(oldest + lengthMs - nowMs));
            }
        }

        await using (var insert = new NpgsqlCommand("INSERT INTO request_window (subject, at_ms) SELECT unnest(@subjects), @at", connection, transaction))
        {
            insert.Parameters.AddWithValue("subjects", windows.Select(w => w.Subject).ToArray());
            insert.Parameters.AddWithValue("at", nowMs);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return null;
    }
}

/// <summary>
/// Running generations counted in the cluster's PostgreSQL (<c>generation_leases</c>), so a concurrency limit holds
/// across nodes. Taking places works like <see cref="PostgresRequestWindows"/> (advisory locks in a fixed order, count,
/// insert); a lease renews its rows every third of <see cref="LeaseLifetime"/> while it is held and deletes them when
/// disposed, so the places of a node that died come back within <see cref="LeaseLifetime"/>. Nodes' clocks must agree
/// to within seconds (as for request windows). Thread-safe.
/// </summary>
internal sealed class PostgresGenerationSlots(PostgresDatabase database, TimeProvider time) : IGenerationSlots
{
    public static readonly TimeSpan LeaseLifetime = TimeSpan.FromSeconds(60);

    public async ValueTask<(IDisposable? Lease, RequestWindowRefusal? Refusal)> TryAcquireAsync(IReadOnlyList<ConcurrencyLimit> limits, DateTimeOffset now,
        CancellationToken cancellationToken = default)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var subject in limits.Select(l => l.Subject).Distinct().Order(StringComparer.Ordinal))
        {
            await PostgresDatabase.LockAsync(connection, transaction, "generation_leases:" + subject, cancellationToken);
        }
        for (var i = 0; i < limits.Count; i++)
        {
            await using (var expire = new NpgsqlCommand("DELETE FROM generation_leases WHERE subject = @s AND expires_at_ms <= @now", connection, transaction))
            {
                expire.Parameters.AddWithValue("s", limits[i].Subject);
                expire.Parameters.AddWithValue("now", nowMs);
                await expire.ExecuteNonQueryAsync(cancellationToken);
            }
            await using var count = new NpgsqlCommand("SELECT COUNT(*) FROM generation_leases WHERE subject = @s", connection, transaction);
            count.Parameters.AddWithValue("s", limits[i].Subject);
            var running = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
            if (running >= limits[i].Limit)
            {
                await transaction.CommitAsync(cancellationToken);
                return (null, new RequestWindowRefusal(i, (int)running, TimeSpan.FromSeconds(1)));
            }
        }
        var id = Guid.NewGuid().ToString("N");
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO generation_leases (lease_id, subject, expires_at_ms) SELECT @id, unnest(@subjects), @expires", connection, transaction))
        {
            insert.Parameters.AddWithValue("id", id);
            insert.Parameters.AddWithValue("subjects", limits.Select(l => l.Subject).Distinct().ToArray());
            insert.Parameters.AddWithValue("expires", nowMs + (long)LeaseLifetime.TotalMilliseconds);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return (new Lease(database, time, id), null);
    }

    private sealed class Lease : IDisposable
    {
        private readonly PostgresDatabase _database;
        private readonly TimeProvider _time;
        private readonly string _id;
        private readonly ITimer _renewal;
        private int _released;

        public Lease(PostgresDatabase database, TimeProvider time, string id)
        {
            _database = database;
            _time = time;
            _id = id;
            var every = LeaseLifetime / 3;
            _renewal = time.CreateTimer(_ => _ = RenewAsync(), null, every, every);
        }

        private async Task RenewAsync()
        {
            try
            {
                await using var connection = await _database.OpenAsync();
                await using var command = new NpgsqlCommand("UPDATE generation_leases SET expires_at_ms = @expires WHERE lease_id = @id", connection);
                command.Parameters.AddWithValue("id", _id);
                command.Parameters.AddWithValue("expires", (_time.GetUtcNow() + LeaseLifetime).ToUnixTimeMilliseconds());
                await command.ExecuteNonQueryAsync();
            }
            catch (System.Data.Common.DbException)
            {
                // The generation goes on; the next renewal tries again, and at worst its place is freed early.
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            _renewal.Dispose();
            try
            {
                using var connection = _database.Open();
                using var command = new NpgsqlCommand("DELETE FROM generation_leases WHERE lease_id = @id", connection);
                command.Parameters.AddWithValue("id", _id);
                command.ExecuteNonQuery();
            }
            catch (System.Data.Common.DbException)
            {
                // The rows expire on their own within LeaseLifetime.
            }
        }
    }
}

/// <summary>
/// Usage records and token counters in the cluster's PostgreSQL: a record and its counter increments commit together,
/// and the increments are single <c>UPDATE</c>s, so nodes recording at once never lose a count. Thread-safe.
/// </summary>
internal sealed class PostgresUsageStore(PostgresDatabase database) : IUsageStore
{
    private const string RecordColumns =
        "tenant_id, request_id, key_id, user_id, model, app_id, api, prompt_tokens, completion_tokens, ttft_ms, duration_ms, outcome, created_at";

    public async Task RecordAsync(UsageRecord r, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand($"""
            INSERT INTO usage_records ({RecordColumns})
            VALUES (@tenant, @req, @key, @user, @model, @app, @api, @prompt, @completion, @ttft, @duration, @outcome, @at)
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("tenant", r.TenantId);
            insert.Parameters.AddWithValue("req", r.RequestId);
            insert.Parameters.Add(PostgresValues.Text("key", r.KeyId));
            insert.Parameters.Add(PostgresValues.Text("user", r.UserId));
            insert.Parameters.AddWithValue("model", r.Model);
            insert.Parameters.Add(PostgresValues.Text("app", r.AppId));
            insert.Parameters.AddWithValue("api", r.Api);
            insert.Parameters.AddWithValue("prompt", r.PromptTokens);
            insert.Parameters.AddWithValue("completion", r.CompletionTokens);
            insert.Parameters.Add(PostgresValues.Double("ttft", r.TtftMs));
            insert.Parameters.AddWithValue("duration", r.DurationMs);
            insert.Parameters.AddWithValue("outcome", r.Outcome);
            insert.Parameters.AddWithValue("at", r.At.ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        if (r.TotalTokens > 0)
        {
            List<string> subjects = [QuotaSubjects.Tenant(r.TenantId)];
            if (r.KeyId is not null) subjects.Add(QuotaSubjects.Key(r.KeyId));
            // Rows in a fixed order, so two nodes adding to the same counters cannot deadlock.
            var rows = subjects.SelectMany(s => new[] { (s, QuotaSubjects.Day(r.At)), (s, QuotaSubjects.Month(r.At)) }).Order().ToArray();
            await using var add = new NpgsqlCommand("""
                INSERT INTO token_counters (subject, period, tokens) SELECT s, p, @n FROM unnest(@subjects, @periods) AS t (s, p)
                ON CONFLICT (subject, period) DO UPDATE SET tokens = token_counters.tokens + excluded.tokens
                """, connection, transaction);
            add.Parameters.AddWithValue("subjects", rows.Select(x => x.Item1).ToArray());
            add.Parameters.AddWithValue("periods", rows.Select(x => x.Item2).ToArray());
            add.Parameters.AddWithValue("n", (long)r.TotalTokens);
            await add.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<UsageRecord>> ListAsync(UsageQuery query, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand { Connection = connection };
        command.CommandText = $"SELECT {RecordColumns} FROM usage_records WHERE {Where(command, query)} ORDER BY created_at, id LIMIT @limit";
        command.Parameters.AddWithValue("limit", query.Limit);
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<UsageRecord>();
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new UsageRecord(r.GetString(0), r.GetString(1), Null(r, 2), Null(r, 3), r.GetString(4), Null(r, 5), r.GetString(6), r.GetInt32(7), r.GetInt32(8),
                r.IsDBNull(9) ? null : r.GetDouble(9), r.GetDouble(10), r.GetString(11), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(12))));
        }
        return list;
    }

    public async Task<IReadOnlyList<UsageGroup>> GroupAsync(UsageQuery query, CancellationToken cancellationToken = default)
    {
        var group = query.GroupBy switch
        {
            UsageGrouping.Day => "to_char(to_timestamp(created_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            UsageGrouping.Model => "model",
            UsageGrouping.App => "COALESCE(app_id, '')",
            UsageGrouping.Key => "COALESCE(key_id, '')",
            _ => "'all'",
        };
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand { Connection = connection };
        // Groups in byte order (COLLATE "C"), as SQLite sorts them, whatever the database's own collation.
        command.CommandText = $"""
            SELECT * FROM (
                SELECT {group} AS g, COUNT(*), SUM(prompt_tokens)::BIGINT, SUM(completion_tokens)::BIGINT, AVG(ttft_ms), AVG(duration_ms)
                FROM usage_records WHERE {Where(command, query)} GROUP BY 1
            ) AS groups ORDER BY g COLLATE "C"
            """;
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<UsageGroup>();
        while (await r.ReadAsync(cancellationToken))
            list.Add(new UsageGroup(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.IsDBNull(4) ? null : r.GetDouble(4), r.GetDouble(5)));
        return list;
    }

    private static string Where(NpgsqlCommand command, UsageQuery q)
    {
        var clauses = new List<string> { "tenant_id = @tenant" };
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        if (q.From is { } from) { clauses.Add("created_at >= @from"); command.Parameters.AddWithValue("from", from.ToUnixTimeMilliseconds()); }
        if (q.To is { } to) { clauses.Add("created_at < @to"); command.Parameters.AddWithValue("to", to.ToUnixTimeMilliseconds()); }
        if (q.Model is not null) { clauses.Add("model = @model"); command.Parameters.AddWithValue("model", q.Model); }
        if (q.AppId is not null) { clauses.Add("app_id = @app"); command.Parameters.AddWithValue("app", q.AppId); }
        if (q.KeyId is not null) { clauses.Add("key_id = @key"); command.Parameters.AddWithValue("key", q.KeyId); }
        return string.Join(" AND ", clauses);
    }

    private static string? Null(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
}

/// <summary>
/// The audit chain in the cluster's PostgreSQL: one chain for every node. An append takes a cluster-wide advisory lock
/// before it reads the head, so appends from all nodes are serialised and each links to the one before. Thread-safe.
/// </summary>
internal sealed class PostgresAuditLog(PostgresDatabase database, TimeProvider time, IHttpContextAccessor http) : IAuditLog, IAuditReader
{
    public async Task AppendAsync(AuditEvent entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var tenant = TenantScope.Current ?? TenantScope.DefaultTenant;
        var actor = entry.Actor ?? http.HttpContext?.GetApiPrincipal()?.Actor ?? "system";
        var at = time.GetUtcNow().ToUnixTimeMilliseconds();
        var detail = entry.Detail ?? "";

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await PostgresDatabase.LockAsync(connection, transaction, "audit_log", cancellationToken);
        long seq = 1;
        var prev = AuditChain.Genesis;
        await using (var head = new NpgsqlCommand("SELECT seq, hash FROM audit_head WHERE id = 1", connection, transaction))
        {
            await using var r = await head.ExecuteReaderAsync(cancellationToken);
            if (await r.ReadAsync(cancellationToken))
            {
                seq = r.GetInt64(0) + 1;
                prev = r.GetString(1);
            }
        }
        var hash = AuditChain.Hash(prev, seq, tenant, at, actor, entry.Action, entry.Target, detail);
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO audit_log (seq, tenant_id, at, actor, action, target, detail, prev_hash, hash)
            VALUES (@seq, @tenant, @at, @actor, @action, @target, @detail, @prev, @hash);
            INSERT INTO audit_head (id, seq, hash) VALUES (1, @seq, @hash)
                ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash;
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("seq", seq);
            insert.Parameters.AddWithValue("tenant", tenant);
            insert.Parameters.AddWithValue("at", at);
            insert.Parameters.AddWithValue("actor", actor);
            insert.Parameters.AddWithValue("action", entry.Action);
            insert.Parameters.AddWithValue("target", entry.Target);
            insert.Parameters.AddWithValue("detail", detail);
            insert.Parameters.AddWithValue("prev", prev);
            insert.Parameters.AddWithValue("hash", hash);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<AuditRecord>> ListAsync(long? afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT seq, tenant_id, at, actor, action, target, detail, prev_hash, hash FROM audit_log
            WHERE tenant_id = @tenant AND seq > @after ORDER BY seq LIMIT @limit
            """, connection);
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        command.Parameters.AddWithValue("after", afterSeq ?? 0);
        command.Parameters.AddWithValue("limit", limit);
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
        // One snapshot for the records and the head, so appends from other nodes during the walk do not look like damage.
        using var transaction = connection.BeginTransaction(System.Data.IsolationLevel.RepeatableRead);
        return AuditChain.Verify(connection);
    }
}
