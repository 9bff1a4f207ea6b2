using System.Globalization;
using Microsoft.Data.Sqlite;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Server.Tenancy;

/// <summary>One generation request as recorded: who, what, how many tokens, how fast, how it ended. Immutable.</summary>
/// <param name="Api">Which API answered: <c>openai</c> or <c>ollama</c>.</param>
/// <param name="Outcome"><c>stop</c>, <c>length</c>, <c>failed</c>, <c>cancelled</c>, <c>rate_limited</c> or <c>error</c> (refused before it started).</param>
public sealed record UsageRecord(
    string TenantId, string RequestId, string? KeyId, string? UserId, string Model, string? AppId, string Api,
    int PromptTokens, int CompletionTokens, double? TtftMs, double DurationMs, string Outcome, DateTimeOffset At)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>How <c>GET /v1/usage</c> groups records.</summary>
public enum UsageGrouping
{
    None,
    Day,
    Model,
    App,
    Key,
}

/// <summary>Filters for a usage query (all optional; times inclusive from, exclusive to).</summary>
public sealed record UsageQuery(DateTimeOffset? From = null, DateTimeOffset? To = null, string? Model = null, string? AppId = null, string? KeyId = null,
    UsageGrouping GroupBy = UsageGrouping.None, int Limit = 1000);

/// <summary>One group of usage records: its key (a day <c>2026-11-27</c>, a model, an app id or a key id) and the sums.</summary>
public sealed record UsageGroup(string Group, long Requests, long PromptTokens, long CompletionTokens, double? AvgTtftMs, double AvgDurationMs)
{
    public long TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>
/// Usage records and the durable token counters that quotas read. Recording writes the record and adds its tokens to
/// the tenant's and the key's day and month counters in one transaction. Queries read the current tenant's records
/// only (<see cref="TenantScope.Require"/>). Thread-safe.
/// </summary>
public interface IUsageStore
{
    Task RecordAsync(UsageRecord record, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<UsageRecord>> ListAsync(UsageQuery query, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<UsageGroup>> GroupAsync(UsageQuery query, CancellationToken cancellationToken = default);
}

internal sealed class SqliteUsageStore(SqliteDatabase database) : IUsageStore
{
    public async Task RecordAsync(UsageRecord r, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO usage_records (tenant_id, request_id, key_id, user_id, model, app_id, api, prompt_tokens, completion_tokens, ttft_ms, duration_ms, outcome, created_at)
                VALUES ($tenant, $req, $key, $user, $model, $app, $api, $prompt, $completion, $ttft, $duration, $outcome, $at)
                """;
            insert.Parameters.AddWithValue("$tenant", r.TenantId);
            insert.Parameters.AddWithValue("$req", r.RequestId);
            insert.Parameters.AddWithValue("$key", (object?)r.KeyId ?? DBNull.Value);
            insert.Parameters.AddWithValue("$user", (object?)r.UserId ?? DBNull.Value);
            insert.Parameters.AddWithValue("$model", r.Model);
            insert.Parameters.AddWithValue("$app", (object?)r.AppId ?? DBNull.Value);
            insert.Parameters.AddWithValue("$api", r.Api);
            insert.Parameters.AddWithValue("$prompt", r.PromptTokens);
            insert.Parameters.AddWithValue("$completion", r.CompletionTokens);
            insert.Parameters.AddWithValue("$ttft", (object?)r.TtftMs ?? DBNull.Value);
            insert.Parameters.AddWithValue("$duration", r.DurationMs);
            insert.Parameters.AddWithValue("$outcome", r.Outcome);
            insert.Parameters.AddWithValue("$at", r.At.ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        if (r.TotalTokens > 0)
        {
            List<string> subjects = [QuotaSubjects.Tenant(r.TenantId)];
            if (r.KeyId is not null) subjects.Add(QuotaSubjects.Key(r.KeyId));
            foreach (var subject in subjects)
            {
                foreach (var period in new[] { QuotaSubjects.Day(r.At), QuotaSubjects.Month(r.At) })
                {
                    await using var add = connection.CreateCommand();
                    add.Transaction = transaction;
                    add.CommandText = """
                        INSERT INTO token_counters (subject, period, tokens) VALUES ($s, $p, $n)
                        ON CONFLICT (subject, period) DO UPDATE SET tokens = tokens + excluded.tokens
                        """;
                    add.Parameters.AddWithValue("$s", subject);
                    add.Parameters.AddWithValue("$p", period);
                    add.Parameters.AddWithValue("$n", r.TotalTokens);
                    await add.ExecuteNonQueryAsync(cancellationToken);
                }
            }
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<UsageRecord>> ListAsync(UsageQuery query, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT tenant_id, request_id, key_id, user_id, model, app_id, api, prompt_tokens, completion_tokens, ttft_ms, duration_ms, outcome, created_at
            FROM usage_records WHERE {Where(command, query)} ORDER BY created_at, id LIMIT $limit
            """;
        command.Parameters.AddWithValue("$limit", query.Limit);
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
            UsageGrouping.Day => "strftime('%Y-%m-%d', created_at / 1000, 'unixepoch')",
            UsageGrouping.Model => "model",
            UsageGrouping.App => "COALESCE(app_id, '')",
            UsageGrouping.Key => "COALESCE(key_id, '')",
            _ => "'all'",
        };
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {group} AS g, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), AVG(ttft_ms), AVG(duration_ms)
            FROM usage_records WHERE {Where(command, query)} GROUP BY g ORDER BY g
            """;
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<UsageGroup>();
        while (await r.ReadAsync(cancellationToken))
            list.Add(new UsageGroup(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.IsDBNull(4) ? null : r.GetDouble(4), r.GetDouble(5)));
        return list;
    }

    /// <summary>The tenant filter is always there; the others when asked for.</summary>
    private static string Where(SqliteCommand command, UsageQuery q)
    {
        var clauses = new List<string> { "tenant_id = $tenant" };
        command.Parameters.AddWithValue("$tenant", TenantScope.Require());
        if (q.From is { } from) { clauses.Add("created_at >= $from"); command.Parameters.AddWithValue("$from", from.ToUnixTimeMilliseconds()); }
        if (q.To is { } to) { clauses.Add("created_at < $to"); command.Parameters.AddWithValue("$to", to.ToUnixTimeMilliseconds()); }
        if (q.Model is not null) { clauses.Add("model = $model"); command.Parameters.AddWithValue("$model", q.Model); }
        if (q.AppId is not null) { clauses.Add("app_id = $app"); command.Parameters.AddWithValue("$app", q.AppId); }
        if (q.KeyId is not null) { clauses.Add("key_id = $key"); command.Parameters.AddWithValue("$key", q.KeyId); }
        return string.Join(" AND ", clauses);
    }

    private static string? Null(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
}

/// <summary>CSV (RFC 4180) for usage exports. Stateless.</summary>
internal static class UsageCsv
{
    public static string Records(IEnumerable<UsageRecord> records)
    {
        var sb = new System.Text.StringBuilder("created_at,request_id,key_id,user_id,model,app_id,api,prompt_tokens,completion_tokens,total_tokens,ttft_ms,duration_ms,outcome\r\n");
        foreach (var r in records)
        {
            Row(sb, r.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), r.RequestId, r.KeyId, r.UserId, r.Model, r.AppId, r.Api,
                N(r.PromptTokens), N(r.CompletionTokens), N(r.TotalTokens), r.TtftMs is { } t ? F(t) : "", F(r.DurationMs), r.Outcome);
        }
        return sb.ToString();
    }

    public static string Groups(string groupName, IEnumerable<UsageGroup> groups)
    {
        var sb = new System.Text.StringBuilder($"{groupName},requests,prompt_tokens,completion_tokens,total_tokens,avg_ttft_ms,avg_duration_ms\r\n");
        foreach (var g in groups)
            Row(sb, g.Group, N(g.Requests), N(g.PromptTokens), N(g.CompletionTokens), N(g.TotalTokens), g.AvgTtftMs is { } t ? F(t) : "", F(g.AvgDurationMs));
        return sb.ToString();
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);
    private static string F(double d) => d.ToString("0.###", CultureInfo.InvariantCulture);

    private static void Row(System.Text.StringBuilder sb, params string?[] fields)
    {
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0) sb.Append(',');
            var f = fields[i] ?? "";
            // A leading =, +, - or @ would be a formula to a spreadsheet; quoting alone does not stop that.
            if (f.Length > 0 && f[0] is '=' or '+' or '-' or '@') f = "'" + f;
            sb.Append(f.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + f.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : f);
        }
        sb.Append("\r\n");
    }
}

/// <summary>
/// The name usage is recorded and queried under: <c>name:tag</c>, so that <c>stories</c> (as OpenAI clients say it) and
/// <c>stories:latest</c> (as Ollama clients say it) count as one model. Names that are not model names are kept as given.
/// </summary>
public static class UsageModelName
{
    public static string Of(string model) => Sovereign.Models.Store.ModelName.TryParse(model, out var name) ? name.ToString() : model;
}
