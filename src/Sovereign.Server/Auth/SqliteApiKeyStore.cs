using Microsoft.Data.Sqlite;
using Sovereign.Data;

namespace Sovereign.Server.Auth;

/// <summary>API keys in the <c>api_keys</c> table of the node's SQLite database. Thread-safe (a connection per call).</summary>
internal sealed class SqliteApiKeyStore(SqliteDatabase database, TimeProvider time) : IApiKeyStore
{
    private const string Columns = "id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at, app_id, user_id";

    public async Task<CreatedApiKey> CreateAsync(NewApiKey key, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        var plain = ApiKeyFormat.NewKey();
        var info = await InsertAsync(connection, null, plain, key, cancellationToken);
        return new CreatedApiKey(info, plain);
    }

    public async Task<CreatedApiKey?> CreateIfNoneActiveAsync(NewApiKey key, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using (var check = connection.CreateCommand())
        {
            check.Transaction = transaction;
            check.CommandText = """
                SELECT COUNT(*) FROM api_keys
                WHERE tenant_id = $tenant AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $now)
                  AND (' ' || scopes || ' ') LIKE ('% ' || $scope || ' %')
                """;
            check.Parameters.AddWithValue("$tenant", key.TenantId);
            check.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeSeconds());
            check.Parameters.AddWithValue("$scope", key.Scope);
            if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0) return null;
        }
        var plain = ApiKeyFormat.NewKey();
        var info = await InsertAsync(connection, transaction, plain, key, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new CreatedApiKey(info, plain);
    }

    public async Task<ApiKeyInfo> EnsureAsync(string plainKey, NewApiKey key, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var transaction = connection.BeginTransaction(deferred: false);
        var existing = await FindAsync(connection, transaction, ApiKeyFormat.Hash(plainKey), cancellationToken);
        if (existing is not null) return existing;
        var info = await InsertAsync(connection, transaction, plainKey, key, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return info;
    }

    public async Task<ApiKeyInfo?> FindByKeyAsync(string plainKey, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        return await FindAsync(connection, null, ApiKeyFormat.Hash(plainKey), cancellationToken);
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM api_keys WHERE tenant_id = $tenant ORDER BY created_at, rowid";
        command.Parameters.AddWithValue("$tenant", tenantId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<ApiKeyInfo>();
        while (await reader.ReadAsync(cancellationToken)) keys.Add(Read(reader));
        return keys;
    }

    public async Task<ApiKeyInfo?> RevokeAsync(string tenantId, string id, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $now)
            WHERE tenant_id = $tenant AND id = $id
            RETURNING {Columns}
            """;
        command.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeSeconds());
        command.Parameters.AddWithValue("$tenant", tenantId);
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task MarkUsedAsync(string id, DateTimeOffset when, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE api_keys SET last_used_at = $when WHERE id = $id";
        command.Parameters.AddWithValue("$when", when.ToUnixTimeSeconds());
        command.Parameters.AddWithValue("$id", id);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<ApiKeyInfo> InsertAsync(SqliteConnection connection, SqliteTransaction? transaction, string plainKey, NewApiKey key, CancellationToken cancellationToken)
    {
        var info = new ApiKeyInfo(ApiKeyFormat.NewId(), key.TenantId, key.Name, ApiKeyFormat.DisplayPrefix(plainKey), ApiKeyScopes.Parse(key.Scope),
            FromUnix(time.GetUtcNow().ToUnixTimeSeconds()),
            key.ExpiresAt is { } expires ? FromUnix(expires.ToUnixTimeSeconds()) : null, RevokedAt: null, LastUsedAt: null)
        {
            AppId = key.AppId,
            UserId = key.UserId,
        };
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes, created_at, expires_at, app_id, user_id)
            VALUES ($id, $tenant, $name, $prefix, $hash, $scopes, $created, $expires, $app, $user)
            """;
        command.Parameters.AddWithValue("$id", info.Id);
        command.Parameters.AddWithValue("$tenant", info.TenantId);
        command.Parameters.AddWithValue("$name", info.Name);
        command.Parameters.AddWithValue("$prefix", info.Prefix);
        command.Parameters.AddWithValue("$hash", ApiKeyFormat.Hash(plainKey));
        command.Parameters.AddWithValue("$scopes", string.Join(' ', info.Scopes));
        command.Parameters.AddWithValue("$created", info.CreatedAt.ToUnixTimeSeconds());
        command.Parameters.AddWithValue("$expires", (object?)info.ExpiresAt?.ToUnixTimeSeconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("$app", (object?)info.AppId ?? DBNull.Value);
        command.Parameters.AddWithValue("$user", (object?)info.UserId ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return info;
    }

    private static async Task<ApiKeyInfo?> FindAsync(SqliteConnection connection, SqliteTransaction? transaction, string hash, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {Columns} FROM api_keys WHERE hash = $hash";
        command.Parameters.AddWithValue("$hash", hash);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static ApiKeyInfo Read(SqliteDataReader r) => new(
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
