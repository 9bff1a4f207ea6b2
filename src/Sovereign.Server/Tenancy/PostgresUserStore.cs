using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Npgsql;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Server.Tenancy;

/// <summary>
/// Users in the cluster's PostgreSQL <c>users</c> table; the same behaviour as <see cref="SqliteUserStore"/>. A sign-in
/// locks the user's row (<c>FOR UPDATE</c>), so failures counted on several nodes add up. Thread-safe.
/// </summary>
internal sealed class PostgresUserStore(PostgresDatabase database, TimeProvider time, IOptions<AuthOptions> options) : IUserStore
{
    private const string Columns = "id, tenant_id, username, display_name, role, kind, created_at, disabled_at, locked_until, password_hash IS NOT NULL";
    private static readonly PasswordHasher<UserInfo> Hasher = new();
    private static readonly string DecoyHash = Hasher.HashPassword(null!, "decoy-" + Guid.NewGuid());

    public async Task<UserInfo> CreateAsync(NewUser user, CancellationToken cancellationToken = default)
    {
        var id = "usr_" + System.Security.Cryptography.RandomNumberGenerator.GetHexString(16, lowercase: true);
        try
        {
            return (await QueryOneAsync($"""
                INSERT INTO users (id, tenant_id, username, display_name, role, kind, password_hash, created_at)
                VALUES (@id, @tenant, @username, @display, @role, @kind, @hash, @now)
                RETURNING {Columns}
                """, cancellationToken,
                P("id", id), P("tenant", user.TenantId), P("username", user.Username), P("display", user.DisplayName), P("role", user.Role), P("kind", user.Kind),
                PostgresValues.Text("hash", user.Password is null ? null : Hasher.HashPassword(null!, user.Password)), P("now", time.GetUtcNow().ToUnixTimeSeconds())))!;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "ux_users_username")
        {
            throw new SovereignException(ErrorKind.Conflict, $"The username '{user.Username}' is taken.", "username", "username_taken");
        }
    }

    public Task<UserInfo?> FindAsync(string id, CancellationToken cancellationToken = default) =>
        QueryOneAsync($"SELECT {Columns} FROM users WHERE id = @id AND tenant_id = @tenant", cancellationToken, P("id", id), P("tenant", TenantScope.Require()));

    public Task<UserInfo?> FindAnyTenantAsync(string id, CancellationToken cancellationToken = default) =>
        QueryOneAsync($"SELECT {Columns} FROM users WHERE id = @id", cancellationToken, P("id", id));

    public async Task<IReadOnlyList<UserInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM users WHERE tenant_id = @tenant ORDER BY created_at, ord", connection);
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var users = new List<UserInfo>();
        while (await reader.ReadAsync(cancellationToken)) users.Add(Read(reader));
        return users;
    }

    public Task<UserInfo?> SetRoleAsync(string id, string role, CancellationToken cancellationToken = default) =>
        QueryOneAsync($"UPDATE users SET role = @role WHERE id = @id AND tenant_id = @tenant RETURNING {Columns}", cancellationToken,
            P("role", role), P("id", id), P("tenant", TenantScope.Require()));

    public Task<UserInfo?> SetPasswordAsync(string id, string password, CancellationToken cancellationToken = default) =>
        QueryOneAsync($"""
            UPDATE users SET password_hash = @hash, failed_logins = 0, locked_until = NULL
            WHERE id = @id AND tenant_id = @tenant AND kind = 'person' RETURNING {Columns}
            """, cancellationToken, P("hash", Hasher.HashPassword(null!, password)), P("id", id), P("tenant", TenantScope.Require()));

    public Task<UserInfo?> DisableAsync(string id, CancellationToken cancellationToken = default) =>
        QueryOneAsync($"UPDATE users SET disabled_at = COALESCE(disabled_at, @now) WHERE id = @id AND tenant_id = @tenant RETURNING {Columns}",
            cancellationToken, P("now", time.GetUtcNow().ToUnixTimeSeconds()), P("id", id), P("tenant", TenantScope.Require()));

    public async Task<SignInResult> SignInAsync(string username, string password, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string? hash = null;
        UserInfo? user = null;
        await using (var find = new NpgsqlCommand($"SELECT {Columns}, password_hash FROM users WHERE lower(username) = lower(@u) FOR UPDATE", connection, transaction))
        {
            find.Parameters.AddWithValue("u", username);
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                user = Read(reader);
                hash = reader.IsDBNull(10) ? null : reader.GetString(10);
            }
        }

        if (user is null || hash is null || user.IsService || user.DisabledAt is not null)
        {
            Hasher.VerifyHashedPassword(null!, DecoyHash, password);
            return new SignInResult(SignInOutcome.Invalid, null);
        }
        if (user.LockedUntil is { } locked && locked > now)
            return new SignInResult(SignInOutcome.Locked, null, locked);

        var verdict = Hasher.VerifyHashedPassword(user, hash, password);
        await using var update = new NpgsqlCommand { Connection = connection, Transaction = transaction };
        update.Parameters.AddWithValue("id", user.Id);
        if (verdict == PasswordVerificationResult.Failed)
        {
            var o = options.Value;
            update.CommandText = """
                UPDATE users SET failed_logins = failed_logins + 1,
                    locked_until = CASE WHEN failed_logins + 1 >= @max THEN @until ELSE NULL END
                WHERE id = @id RETURNING locked_until
                """;
            update.Parameters.AddWithValue("max", o.MaxFailedSignIns);
            update.Parameters.AddWithValue("until", now.Add(o.LockoutDuration).ToUnixTimeSeconds());
            var lockedUntil = await update.ExecuteScalarAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return lockedUntil is long l
                ? new SignInResult(SignInOutcome.Locked, null, DateTimeOffset.FromUnixTimeSeconds(l))
                : new SignInResult(SignInOutcome.Invalid, null);
        }

        update.CommandText = verdict == PasswordVerificationResult.SuccessRehashNeeded
            ? "UPDATE users SET failed_logins = 0, locked_until = NULL, password_hash = @hash WHERE id = @id"
            : "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = @id";
        if (verdict == PasswordVerificationResult.SuccessRehashNeeded) update.Parameters.AddWithValue("hash", Hasher.HashPassword(user, password));
        await update.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new SignInResult(SignInOutcome.Success, user with { LockedUntil = null });
    }

    public async Task<UserInfo> FindOrCreateExternalAsync(string issuer, string subject, string username, string displayName, string tenantId, CancellationToken cancellationToken = default)
    {
        var found = await QueryOneAsync($"SELECT {Columns} FROM users WHERE external_issuer = @iss AND external_subject = @sub", cancellationToken,
            P("iss", issuer), P("sub", subject));
        if (found is not null) return found;
        var created = await CreateAsync(new NewUser(tenantId, username, displayName, Roles.Member, UserKinds.Person), cancellationToken);
        await QueryOneAsync($"UPDATE users SET external_issuer = @iss, external_subject = @sub WHERE id = @id RETURNING {Columns}", cancellationToken,
            P("iss", issuer), P("sub", subject), P("id", created.Id));
        return created;
    }

    public async Task<int> CountPeopleAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM users WHERE tenant_id = @tenant AND kind = 'person'", connection);
        command.Parameters.AddWithValue("tenant", tenantId);
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static NpgsqlParameter P(string name, object value) => new(name, value);

    private async Task<UserInfo?> QueryOneAsync(string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static UserInfo Read(NpgsqlDataReader r) => new(
        Id: r.GetString(0),
        TenantId: r.GetString(1),
        Username: r.GetString(2),
        DisplayName: r.GetString(3),
        Role: r.GetString(4),
        Kind: r.GetString(5),
        CreatedAt: DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(6)),
        DisabledAt: r.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(7)),
        LockedUntil: r.IsDBNull(8) ? null : DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(8)),
        HasPassword: r.GetBoolean(9));
}

/// <summary>Tenants in the cluster's PostgreSQL <c>tenants</c> table. Thread-safe.</summary>
internal sealed class PostgresTenantStore(PostgresDatabase database, TimeProvider time) : ITenantStore
{
    private const string Columns = "id, name, weight, created_at, disabled_at";

    public async Task<TenantInfo> CreateAsync(string id, string name, int weight, CancellationToken cancellationToken = default)
    {
        try
        {
            return (await QueryAsync($"INSERT INTO tenants (id, name, weight, created_at) VALUES (@id, @name, @weight, @now) RETURNING {Columns}",
                cancellationToken, new("id", id), new("name", name), new("weight", weight), new("now", time.GetUtcNow().ToUnixTimeSeconds())))[0];
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new SovereignException(ErrorKind.Conflict, $"A tenant with id '{id}' exists.", "id", "tenant_exists");
        }
    }

    public async Task<TenantInfo?> FindAsync(string id, CancellationToken cancellationToken = default) =>
        (await QueryAsync($"SELECT {Columns} FROM tenants WHERE id = @id", cancellationToken, new NpgsqlParameter("id", id))).FirstOrDefault();

    public Task<IReadOnlyList<TenantInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {Columns} FROM tenants ORDER BY created_at, id", cancellationToken);

    public async Task<TenantInfo?> SetWeightAsync(string id, int weight, CancellationToken cancellationToken = default) =>
        (await QueryAsync($"UPDATE tenants SET weight = @w WHERE id = @id RETURNING {Columns}", cancellationToken, new("w", weight), new("id", id))).FirstOrDefault();

    private async Task<IReadOnlyList<TenantInfo>> QueryAsync(string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<TenantInfo>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new TenantInfo(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(4))));
        }
        return list;
    }
}
