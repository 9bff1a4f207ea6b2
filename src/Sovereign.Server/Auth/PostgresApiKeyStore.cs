using Npgsql;
using Sovereign.Data;

namespace Sovereign.Server.Auth;

/// <summary>
/// API keys in the cluster's PostgreSQL <c>api_keys</c> table, so a key made on one node works on every node.
/// Thread-safe (a connection per call); check-then-insert runs under an advisory lock per tenant and scope.
/// </summary>
internal sealed class PostgresApiKeyStore(PostgresDatabase database, TimeProvider time) : IApiKeyStore
{
    private const string Columns = "id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at, app_id, user_id";

    public async Task<CreatedApiKey> CreateAsync(NewApiKey key, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var plain = ApiKeyFormat.NewKey();
        var info = await InsertAsync(connection, null, plain, key, cancellationToken);
        return new CreatedApiKey(info, plain);
    }

    public async Task<CreatedApiKey?> CreateIfNoneActiveAsync(NewApiKey key, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Two nodes starting at once must not both see "none" and both insert.
        await PostgresDatabase.LockAsync(connection, transaction, $"api_keys:{key.TenantId}:{key.Scope}", cancellationToken);
        await using (var check = new NpgsqlCommand("""
            SELECT COUNT(*) FROM api_keys
            WHERE tenant_id = @tenant AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)
              AND (' ' || scopes || ' ') LIKE ('% ' || @scope || ' %')
            """, connection, transaction))
        {
            check.Parameters.AddWithValue("tenant", key.TenantId);
            check.Parameters.AddWithValue("now", time.GetUtcNow().ToUnixTimeSeconds());
            check.Parameters.AddWithValue("scope", key.Scope);
            if ((long)(await check.ExecuteScalarAsync(cancellationToken))! > 0) return null;
        }
        var plain = ApiKeyFormat.NewKey();
        var info = await InsertAsync(connection, transaction, plain, key, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new CreatedApiKey(info, plain);
    }

    public async Task<ApiKeyInfo> EnsureAsync(string plainKey, NewApiKey key, CancellationToken cancellationToken = default)
    {
        var hash = ApiKeyFormat.Hash(plainKey);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await PostgresDatabase.LockAsync(connection, transaction, "api_keys:" + hash, cancellationToken);
        var existing = await FindAsync(connection, transaction, hash, cancellationToken);
        if (existing is not null) return existing;
        var info = await InsertAsync(connection, transaction, plainKey, key, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return info;
    }

    public async Task<ApiKeyInfo?> FindByKeyAsync(string plainKey, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await FindAsync(connection, null, ApiKeyFormat.Hash(plainKey), cancellationToken);
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM api_keys WHERE tenant_id = @tenant ORDER BY created_at, ord", connection);
        command.Parameters.AddWithValue("tenant", tenantId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<ApiKeyInfo>();
        while (await reader.ReadAsync(cancellationToken)) keys.Add(Read(reader));
        return keys;
    }

    public async Task<ApiKeyInfo?> RevokeAsync(string tenantId, string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"""
            UPDATE api_keys SET revoked_at = COALESCE(revoked_at, @now)
            WHERE tenant_id = @tenant AND id = @id
            RETURNING {Columns}
            """, connection);
        command.Parameters.AddWithValue("now", time.GetUtcNow().ToUnixTimeSeconds());
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task MarkUsedAsync(string id, DateTimeOffset when, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("UPDATE api_keys SET last_used_at = @when WHERE id = @id", connection);
        command.Parameters.AddWithValue("when", when.ToUnixTimeSeconds());
        command.Parameters.AddWithValue("id", id);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<ApiKeyInfo> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string plainKey, NewApiKey key, CancellationToken cancellationToken)
    {
        var info = new ApiKeyInfo(ApiKeyFormat.NewId(), key.TenantId, key.Name, ApiKeyFormat.DisplayPrefix(plainKey), ApiKeyScopes.Parse(key.Scope),
            FromUnix(time.GetUtcNow().ToUnixTimeSeconds()),
            key.ExpiresAt is { } expires ? FromUnix(expires.ToUnixTimeSeconds()) : null, RevokedAt: null, LastUsedAt: null)
        {
            AppId = key.AppId,
            UserId = key.UserId,
        };
        await using var command = new NpgsqlCommand("""
            INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes, created_at, expires_at, app_id, user_id)
            VALUES (@id, @tenant, @name, @prefix, @hash, @scopes, @created, @expires, @app, @user)
            """, connection, transaction);
        command.Parameters.AddWithValue("id", info.Id);
        command.Parameters.AddWithValue("tenant", info.TenantId);
        command.Parameters.AddWithValue("name", info.Name);
        command.Parameters.AddWithValue("prefix", info.Prefix);
        command.Parameters.AddWithValue("hash", ApiKeyFormat.Hash(plainKey));
        command.Parameters.AddWithValue("scopes", string.Join(' ', info.Scopes));
        command.Parameters.AddWithValue("created", info.CreatedAt.ToUnixTimeSeconds());
        command.Parameters.Add(PostgresValues.Int64("expires", info.ExpiresAt?.ToUnixTimeSeconds()));
        command.Parameters.Add(PostgresValues.Text("app", info.AppId));
        command.Parameters.Add(PostgresValues.Text("user", info.UserId));
        await command.ExecuteNonQueryAsync(cancellationToken);
        return info;
    }

    private static async Task<ApiKeyInfo?> FindAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string hash, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM api_keys WHERE hash = @hash", connection, transaction);
        command.Parameters.AddWithValue("hash", hash);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static ApiKeyInfo Read(NpgsqlDataReader r) => new(
        Id: r.GetString(0),
        TenantId: r.GetString(1),
        Name: r.GetString(2),
        Prefix: r.GetString(3),
        Scopes: r.GetString(4).Split(' ', StringSplitOptions.RemoveEmptyEntries),
        CreatedAt: FromUnix(r.GetInt64(5)),
        ExpiresAt: r.IsDBNull(6) ? null : FromUnix(r.GetInt64(6)),
        RevokedAt: r.IsDBNull(7) ? null : FromUnix(r.GetInt64(7)),
        LastUsedAt: r.IsDBNull(8) ? null : FromUnix(r.GetInt64(8)))
    {
        AppId = r.IsDBNull(9) ? null : r.GetString(9),
        UserId = r.IsDBNull(10) ? null : r.GetString(10),
    };

    private static DateTimeOffset FromUnix(long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds);
}
