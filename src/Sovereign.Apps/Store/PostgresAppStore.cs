using Npgsql;
using Sovereign.Apps.Definitions;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Apps.Store;

/// <summary>
/// <see cref="IAppStore"/> in the cluster's PostgreSQL. Publish and rollback lock the app's row (<c>FOR UPDATE</c>), so
/// two publishers of one app, on any nodes, get consecutive versions. Thread-safe.
/// </summary>
internal sealed class PostgresAppStore(PostgresDatabase database, TimeProvider time) : IAppStore
{
    private const string SelectApp = """
        SELECT a.id, a.draft, a.created_at, a.updated_at, a.live_version,
               (SELECT MAX(v.version) FROM app_versions v WHERE v.tenant_id = a.tenant_id AND v.app_id = a.id),
               (SELECT v.definition FROM app_versions v WHERE v.tenant_id = a.tenant_id AND v.app_id = a.id AND v.version = a.live_version)
        FROM apps a
        """;

    public async Task<AppRecord> CreateAsync(AppDefinition draft, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await using var command = new NpgsqlCommand(
                "INSERT INTO apps (tenant_id, id, draft, created_at, updated_at) VALUES (@t, @id, @draft, @now, @now) ON CONFLICT DO NOTHING", connection);
            command.Parameters.AddWithValue("t", tenant);
            command.Parameters.AddWithValue("id", draft.Id);
            command.Parameters.AddWithValue("draft", draft.ToJson());
            command.Parameters.AddWithValue("now", now);
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
                throw new SovereignException(ErrorKind.Conflict, $"An app with id '{draft.Id}' already exists; edit it with PUT /v1/apps/{draft.Id} or pick another id.", "id", "app_exists");
        }
        return (await GetAsync(draft.Id, cancellationToken))!;
    }

    public async Task<AppRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(SelectApp + " WHERE a.tenant_id = @t AND a.id = @id", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadApp(reader) : null;
    }

    public async Task<IReadOnlyList<AppRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(SelectApp + " WHERE a.tenant_id = @t ORDER BY a.id COLLATE \"C\"", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var apps = new List<AppRecord>();
        while (await reader.ReadAsync(cancellationToken)) apps.Add(ReadApp(reader));
        return apps;
    }

    public async Task<AppRecord> UpdateDraftAsync(AppDefinition draft, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await using var command = new NpgsqlCommand("UPDATE apps SET draft = @draft, updated_at = @now WHERE tenant_id = @t AND id = @id", connection);
            command.Parameters.AddWithValue("t", tenant);
            command.Parameters.AddWithValue("id", draft.Id);
            command.Parameters.AddWithValue("draft", draft.ToJson());
            command.Parameters.AddWithValue("now", time.GetUtcNow().ToUnixTimeMilliseconds());
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0) throw SqliteAppStore.AppNotFound(draft.Id);
        }
        return (await GetAsync(draft.Id, cancellationToken))!;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("DELETE FROM apps WHERE tenant_id = @t AND id = @id", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<AppRecord> PublishAsync(string id, AppDefinition checkedDraft, string? publishedBy, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var draft = await ScalarAsync(connection, transaction, "SELECT draft FROM apps WHERE tenant_id = @t AND id = @id FOR UPDATE", cancellationToken,
                new("t", tenant), new("id", id));
            if (draft is not string current) throw SqliteAppStore.AppNotFound(id);
            var json = checkedDraft.ToJson();
            if (current != json)
                throw new SovereignException(ErrorKind.Conflict, $"The draft of app '{id}' changed while it was being published; publish again.", "id", "draft_changed");
            var next = (int)(await ScalarAsync(connection, transaction,
                "SELECT COALESCE(MAX(version), 0) + 1 FROM app_versions WHERE tenant_id = @t AND app_id = @id", cancellationToken, new("t", tenant), new("id", id)))!;
            await ScalarAsync(connection, transaction, """
                INSERT INTO app_versions (tenant_id, app_id, version, definition, published_at, published_by) VALUES (@t, @id, @v, @def, @now, @by);
                UPDATE apps SET live_version = @v WHERE tenant_id = @t AND id = @id;
                """, cancellationToken, new("t", tenant), new("id", id), new("v", next), new("def", json), new("now", time.GetUtcNow().ToUnixTimeMilliseconds()),
                PostgresValues.Text("by", publishedBy));
            await transaction.CommitAsync(cancellationToken);
        }
        return (await GetAsync(id, cancellationToken))!;
    }

    public async Task<AppRecord> RollbackAsync(string id, int? version, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var exists = await ScalarAsync(connection, transaction, "SELECT COALESCE(live_version, 0) FROM apps WHERE tenant_id = @t AND id = @id FOR UPDATE",
                cancellationToken, new("t", tenant), new("id", id));
            if (exists is null) throw SqliteAppStore.AppNotFound(id);
            var live = (int)exists;
            int target;
            if (version is { } wanted)
            {
                var found = await ScalarAsync(connection, transaction, "SELECT version FROM app_versions WHERE tenant_id = @t AND app_id = @id AND version = @v",
                    cancellationToken, new("t", tenant), new("id", id), new("v", wanted));
                if (found is null) throw SovereignException.NotFound($"App '{id}' has no version {wanted}; see GET /v1/apps/{id}/versions.", "version", "app_version_not_found");
                target = wanted;
            }
            else
            {
                var previous = await ScalarAsync(connection, transaction, "SELECT MAX(version) FROM app_versions WHERE tenant_id = @t AND app_id = @id AND version < @live",
                    cancellationToken, new("t", tenant), new("id", id), new("live", live));
                if (previous is null or DBNull)
                    throw new SovereignException(ErrorKind.Conflict,
                        live == 0 ? $"App '{id}' has never been published; there is nothing to roll back to." : $"App '{id}' is live at version {live}, its first; there is no earlier version to roll back to.",
                        "version", "nothing_to_roll_back");
                target = (int)previous;
            }
            await ScalarAsync(connection, transaction, "UPDATE apps SET live_version = @v WHERE tenant_id = @t AND id = @id",
                cancellationToken, new("t", tenant), new("id", id), new("v", target));
            await transaction.CommitAsync(cancellationToken);
        }
        return (await GetAsync(id, cancellationToken))!;
    }

    public async Task<IReadOnlyList<AppVersion>?> VersionsAsync(string id, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = await database.OpenAsync(cancellationToken);
        if (await ScalarAsync(connection, null, "SELECT 1 FROM apps WHERE tenant_id = @t AND id = @id", cancellationToken, new("t", tenant), new("id", id)) is null)
            return null;
        await using var command = new NpgsqlCommand(
            "SELECT app_id, version, definition, published_at, published_by FROM app_versions WHERE tenant_id = @t AND app_id = @id ORDER BY version", connection);
        command.Parameters.AddWithValue("t", tenant);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var versions = new List<AppVersion>();
        while (await reader.ReadAsync(cancellationToken)) versions.Add(ReadVersion(reader));
        return versions;
    }

    public async Task<AppVersion?> GetVersionAsync(string id, int version, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT app_id, version, definition, published_at, published_by FROM app_versions WHERE tenant_id = @t AND app_id = @id AND version = @v", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("v", version);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadVersion(reader) : null;
    }

    private static AppRecord ReadApp(NpgsqlDataReader r) => new(
        r.GetString(0),
        AppDefinition.FromJson(r.GetString(1)),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)),
        r.IsDBNull(4) ? null : r.GetInt32(4),
        r.IsDBNull(5) ? null : r.GetInt32(5),
        r.IsDBNull(6) ? null : AppDefinition.FromJson(r.GetString(6)));

    private static AppVersion ReadVersion(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetInt32(1), AppDefinition.FromJson(r.GetString(2)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)), r.IsDBNull(4) ? null : r.GetString(4));

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken ct, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddRange(parameters);
        return await command.ExecuteScalarAsync(ct);
    }
}
