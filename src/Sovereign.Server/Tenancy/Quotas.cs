using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Data;
using Sovereign.Server.Auth;

namespace Sovereign.Server.Tenancy;

/// <summary>Limits of one tenant or key; null means no limit. Immutable.</summary>
public sealed record QuotaLimits(int? RequestsPerMinute, long? TokensPerDay, long? TokensPerMonth, int? ConcurrentGenerations)
{
    public static readonly QuotaLimits None = new(null, null, null, null);
}

/// <summary>
/// What limits apply to whom, and the durable token counters. Subjects are <c>tenant:&lt;id&gt;</c> and
/// <c>key:&lt;id&gt;</c> (<see cref="QuotaSubjects"/>). Periods are UTC days (<c>d:2026-11-27</c>) and months (<c>m:2026-11</c>).
/// Thread-safe.
/// </summary>
public interface IQuotaStore
{
    Task<QuotaLimits> GetAsync(string subject, CancellationToken cancellationToken = default);
    Task SetAsync(string subject, string tenantId, QuotaLimits limits, CancellationToken cancellationToken = default);
    Task<long> TokensUsedAsync(string subject, string period, CancellationToken cancellationToken = default);
}

public static class QuotaSubjects
{
    public static string Tenant(string tenantId) => "tenant:" + tenantId;
    public static string Key(string keyId) => "key:" + keyId;

    public static string Day(DateTimeOffset t) => "d:" + t.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    public static string Month(DateTimeOffset t) => "m:" + t.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>The subjects whose limits apply to a caller: its tenant, and its key unless it is a web session.</summary>
    public static IEnumerable<(string Subject, string Name)> Of(ApiPrincipal principal)
    {
        yield return (Tenant(principal.TenantId), $"tenant '{principal.TenantId}'");
        if (!principal.IsSession) yield return (Key(principal.KeyId), $"key {principal.KeyId}");
    }
}

internal sealed class SqliteQuotaStore(SqliteDatabase database) : IQuotaStore
{
    public async Task<QuotaLimits> GetAsync(string subject, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT requests_per_minute, tokens_per_day, tokens_per_month, concurrent_generations FROM quota_limits WHERE subject = $s";
        command.Parameters.AddWithValue("$s", subject);
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        if (!await r.ReadAsync(cancellationToken)) return QuotaLimits.None;
        return new QuotaLimits(r.IsDBNull(0) ? null : r.GetInt32(0), r.IsDBNull(1) ? null : r.GetInt64(1), r.IsDBNull(2) ? null : r.GetInt64(2), r.IsDBNull(3) ? null : r.GetInt32(3));
    }

    public async Task SetAsync(string subject, string tenantId, QuotaLimits limits, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO quota_limits (subject, tenant_id, requests_per_minute, tokens_per_day, tokens_per_month, concurrent_generations)
            VALUES ($s, $t, $rpm, $day, $month, $conc)
            ON CONFLICT (subject) DO UPDATE SET requests_per_minute = excluded.requests_per_minute, tokens_per_day = excluded.tokens_per_day,
                tokens_per_month = excluded.tokens_per_month, concurrent_generations = excluded.concurrent_generations
            """;
        command.Parameters.AddWithValue("$s", subject);
        command.Parameters.AddWithValue("$t", tenantId);
        command.Parameters.AddWithValue("$rpm", (object?)limits.RequestsPerMinute ?? DBNull.Value);
        command.Parameters.AddWithValue("$day", (object?)limits.TokensPerDay ?? DBNull.Value);
        command.Parameters.AddWithValue("$month", (object?)limits.TokensPerMonth ?? DBNull.Value);
        command.Parameters.AddWithValue("$conc", (object?)limits.ConcurrentGenerations ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<long> TokensUsedAsync(string subject, string period, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT tokens FROM token_counters WHERE subject = $s AND period = $p";
        command.Parameters.AddWithValue("$s", subject);
        command.Parameters.AddWithValue("$p", period);
        return await command.ExecuteScalarAsync(cancellationToken) is long n ? n : 0;
    }
}

/// <summary>
/// Enforces <see cref="QuotaLimits"/> for a caller's tenant and key: requests per minute on every authenticated request,
/// tokens per day and month and concurrent generations before each generation. A limit reached is a 429
/// <c>rate_limit_error</c> whose code names it (<c>requests_per_minute_exceeded</c>, <c>tokens_per_day_exceeded</c>,
/// <c>tokens_per_month_exceeded</c>, <c>concurrent_generations_exceeded</c>) with <c>Retry-After</c>. Thread-safe.
/// </summary>
public interface IQuotaEnforcer
{
    /// <summary>Counts one request against requests-per-minute; throws 429 when the window is full.</summary>
    ValueTask CountRequestAsync(ApiPrincipal principal, CancellationToken cancellationToken = default);

    /// <summary>Checks the token budgets and takes a concurrent-generation place, released when the lease is disposed.</summary>
    Task<IDisposable> AcquireGenerationAsync(ApiPrincipal principal, CancellationToken cancellationToken = default);

    /// <summary>Forgets cached limits (after they change).</summary>
    void Invalidate();
}

/// <summary>
/// Request windows and running generations are counted by <see cref="IRequestWindows"/> and <see cref="IGenerationSlots"/>
/// (this node's memory by default, the shared database in a cluster); tokens are read from the durable counters that
/// usage recording keeps (<see cref="IUsageStore"/>).
/// </summary>
internal sealed class QuotaEnforcer(IQuotaStore store, IRequestWindows requestWindows, IGenerationSlots generationSlots, TimeProvider time, ILogger<QuotaEnforcer> logger)
    : IQuotaEnforcer
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, (QuotaLimits Limits, DateTimeOffset Until)> _cache = new();

    public void Invalidate() => _cache.Clear();

    public async ValueTask CountRequestAsync(ApiPrincipal principal, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var checks = new List<(string Subject, string Name, int Limit)>(2);
        foreach (var (subject, name) in QuotaSubjects.Of(principal))
        {
            if ((await LimitsAsync(subject, cancellationToken)).RequestsPerMinute is { } rpm) checks.Add((subject, name, rpm));
        }
        if (checks.Count == 0) return;

        var refusal = await requestWindows.TryCountAsync([.. checks.Select(c => new RequestWindow(c.Subject, c.Limit))], now, cancellationToken);
        if (refusal is not null)
        {
            var (subject, name, limit) = checks[refusal.Index];
            throw Refuse(subject, "requests_per_minute",
                $"Rate limit reached for requests per minute (RPM) of {name}: limit {limit}, used {refusal.Used}.", refusal.RetryAfter);
        }
    }

    public async Task<IDisposable> AcquireGenerationAsync(ApiPrincipal principal, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var concurrency = new List<(string Subject, string Name, int Limit)>(2);
        foreach (var (subject, name) in QuotaSubjects.Of(principal))
        {
            var limits = await LimitsAsync(subject, cancellationToken);
            if (limits.TokensPerDay is { } perDay)
            {
                var used = await store.TokensUsedAsync(subject, QuotaSubjects.Day(now), cancellationToken);
                if (used >= perDay)
                {
                    var tomorrow = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
                    throw Refuse(subject, "tokens_per_day", $"Rate limit reached for tokens per day (TPD) of {name}: limit {perDay}, used {used}.", tomorrow - now);
                }
            }
            if (limits.TokensPerMonth is { } perMonth)
            {
                var used = await store.TokensUsedAsync(subject, QuotaSubjects.Month(now), cancellationToken);
                if (used >= perMonth)
                {
                    var first = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
                    throw Refuse(subject, "tokens_per_month", $"Rate limit reached for tokens per month of {name}: limit {perMonth}, used {used}.", first - now);
                }
            }
            if (limits.ConcurrentGenerations is { } c) concurrency.Add((subject, name, c));
        }

        if (concurrency.Count == 0) return NoLease.Instance;
        var (lease, refusal) = await generationSlots.TryAcquireAsync([.. concurrency.Select(c => new ConcurrencyLimit(c.Subject, c.Limit))], now, cancellationToken);
        if (refusal is not null)
        {
            var (subject, name, limit) = concurrency[refusal.Index];
            throw Refuse(subject, "concurrent_generations",
                $"Rate limit reached for concurrent generations of {name}: limit {limit}, running {refusal.Used}.", TimeSpan.FromSeconds(1));
        }
        return lease!;
    }

    private async ValueTask<QuotaLimits> LimitsAsync(string subject, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(subject, out var cached) && cached.Until > now) return cached.Limits;
        var limits = await store.GetAsync(subject, cancellationToken);
        _cache[subject] = (limits, now + CacheFor);
        return limits;
    }

    private SovereignException Refuse(string subject, string limit, string message, TimeSpan retryAfter)
    {
        logger.LimitReached(subject, limit);
        return new SovereignException(ErrorKind.RateLimited, message, code: limit + "_exceeded")
        {
            RetryAfter = retryAfter < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : retryAfter,
        };
    }

    private sealed class NoLease : IDisposable
    {
        public static readonly NoLease Instance = new();

        public void Dispose()
        {
        }
    }
}

/// <summary>One subject's requests-per-minute limit.</summary>
public sealed record RequestWindow(string Subject, int Limit);

/// <summary>Why a request did not fit: which window (index into the request), how many requests it holds, and when one leaves it.</summary>
public sealed record RequestWindowRefusal(int Index, int Used, TimeSpan RetryAfter);

/// <summary>
/// One-minute sliding windows of requests per subject. Thread-safe; an implementation for a cluster counts every
/// node's requests in one place.
/// </summary>
public interface IRequestWindows
{
    /// <summary>The length of every window.</summary>
    public static readonly TimeSpan Length = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Checks every window first; when all have room, counts the request in each and returns null. Otherwise counts it
    /// nowhere (a refused request uses up no one's allowance) and returns the first full window.
    /// </summary>
    ValueTask<RequestWindowRefusal?> TryCountAsync(IReadOnlyList<RequestWindow> windows, DateTimeOffset now, CancellationToken cancellationToken = default);
}

/// <summary>Windows in this process's memory: the single-node default; a restart forgives them.</summary>
internal sealed class InMemoryRequestWindows : IRequestWindows
{
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _requests = new();

    public ValueTask<RequestWindowRefusal?> TryCountAsync(IReadOnlyList<RequestWindow> windows, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var queues = windows.Select(w => _requests.GetOrAdd(w.Subject, _ => new Queue<DateTimeOffset>())).ToArray();
        lock (_requests)
        {
            for (var i = 0; i < windows.Count; i++)
            {
                var queue = queues[i];
                while (queue.Count > 0 && now - queue.Peek() >= IRequestWindows.Length) queue.Dequeue();
                if (queue.Count >= windows[i].Limit)
                    return ValueTask.FromResult<RequestWindowRefusal?>(new RequestWindowRefusal(i, queue.Count, queue.Peek() + IRequestWindows.Length - now));
            }
            foreach (var queue in queues) queue.Enqueue(now);
        }
        return ValueTask.FromResult<RequestWindowRefusal?>(null);
    }
}

/// <summary>One subject's concurrent-generations limit.</summary>
public sealed record ConcurrencyLimit(string Subject, int Limit);

/// <summary>
/// Places for running generations per subject. A lease holds one place under every limit it was taken for until it is
/// disposed. Thread-safe; an implementation for a cluster counts every node's generations in one place.
/// </summary>
public interface IGenerationSlots
{
    /// <summary>
    /// Takes a place under every limit when all have room; otherwise takes none and returns the first full one
    /// (<see cref="RequestWindowRefusal.Used"/> is the number running).
    /// </summary>
    ValueTask<(IDisposable? Lease, RequestWindowRefusal? Refusal)> TryAcquireAsync(IReadOnlyList<ConcurrencyLimit> limits, DateTimeOffset now,
        CancellationToken cancellationToken = default);
}

/// <summary>Running generations counted in this process's memory: the single-node default (a restart ends them all anyway).</summary>
internal sealed class InMemoryGenerationSlots : IGenerationSlots
{
    private readonly Dictionary<string, int> _running = new(StringComparer.Ordinal);

    public ValueTask<(IDisposable? Lease, RequestWindowRefusal? Refusal)> TryAcquireAsync(IReadOnlyList<ConcurrencyLimit> limits, DateTimeOffset now,
        CancellationToken cancellationToken = default)
    {
        lock (_running)
        {
            for (var i = 0; i < limits.Count; i++)
            {
                var running = _running.GetValueOrDefault(limits[i].Subject);
                if (running >= limits[i].Limit) return ValueTask.FromResult<(IDisposable?, RequestWindowRefusal?)>((null, new RequestWindowRefusal(i, running, TimeSpan.FromSeconds(1))));
            }
            foreach (var limit in limits) _running[limit.Subject] = _running.GetValueOrDefault(limit.Subject) + 1;
        }
        return ValueTask.FromResult<(IDisposable?, RequestWindowRefusal?)>((new Lease(this, [.. limits.Select(l => l.Subject)]), null));
    }

    private sealed class Lease(InMemoryGenerationSlots owner, List<string> subjects) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            lock (owner._running)
            {
                foreach (var s in subjects) owner._running[s]--;
            }
        }
    }
}
