using Microsoft.Data.Sqlite;
using Sovereign.Apps.Definitions;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Apps.Store;

/// <summary>
/// <see cref="IAppStore"/> in the node's SQLite database. Publish and rollback run in immediate transactions, so two
/// publishers of one app get consecutive versions. Thread-safe.
/// </summary>
internal sealed class SqliteAppStore(SqliteDatabase database, TimeProvider time) : IAppStore
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
        await using (var connection = database.Open())
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO apps (tenant_id, id, draft, created_at, updated_at) VALUES ($t, $id, $draft, $now, $now) ON CONFLICT DO NOTHING;";
            command.Parameters.AddWithValue("$t", tenant);
            command.Parameters.AddWithValue("$id", draft.Id);
            command.Parameters.AddWithValue("$draft", draft.ToJson());
            command.Parameters.AddWithValue("$now", now);
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
                throw new SovereignException(ErrorKind.Conflict, $"An app with id '{draft.Id}' already exists; edit it with PUT /v1/apps/{draft.Id} or pick another id.", "id", "app_exists");
        }
        return (await GetAsync(draft.Id, cancellationToken))!;
    }

    public async Task<AppRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = SelectApp + " WHERE a.tenant_id = $t AND a.id = $id;";
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadApp(reader) : null;
    }

    public async Task<IReadOnlyList<AppRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = SelectApp + " WHERE a.tenant_id = $t ORDER BY a.id;";
        command.Parameters.AddWithValue("$t", tenant);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var apps = new List<AppRecord>();
        while (await reader.ReadAsync(cancellationToken)) apps.Add(ReadApp(reader));
        return apps;
    }

    public async Task<AppRecord> UpdateDraftAsync(AppDefinition draft, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using (var connection = database.Open())
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE apps SET draft = $draft, updated_at = $now WHERE tenant_id = $t AND id = $id;";
            command.Parameters.AddWithValue("$t", tenant);
            command.Parameters.AddWithValue("$id", draft.Id);
            command.Parameters.AddWithValue("$draft", draft.ToJson());
            command.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeMilliseconds());
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0) throw AppNotFound(draft.Id);
        }
        return (await GetAsync(draft.Id, cancellationToken))!;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM apps WHERE tenant_id = $t AND id = $id;";
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<AppRecord> PublishAsync(string id, AppDefinition checkedDraft, string? publishedBy, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using (var connection = database.Open())
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            var draft = await ScalarAsync(connection, transaction, "SELECT draft FROM apps WHERE tenant_id = $t AND id = $id;", cancellationToken, ("$t", tenant), ("$id", id));
            if (draft is not string current) throw AppNotFound(id);
            var json = checkedDraft.ToJson();
            if (current != json)
                throw new SovereignException(ErrorKind.Conflict, $"The draft of app '{id}' changed while it was being published; publish again.", "id", "draft_changed");
            var next = Convert.ToInt32(await ScalarAsync(connection, transaction,
                "SELECT COALESCE(MAX(version), 0) + 1 FROM app_versions WHERE tenant_id = $t AND app_id = $id;", cancellationToken, ("$t", tenant), ("$id", id)),
                System.Globalization.CultureInfo.InvariantCulture);
            await ExecuteAsync(connection, transaction,
                "INSERT INTO app_versions (tenant_id, app_id, version, definition, published_at, published_by) VALUES ($t, $id, $v, $def, $now, $by);",
                cancellationToken, ("$t", tenant), ("$id", id), ("$v", next), ("$def", json), ("$now", time.GetUtcNow().ToUnixTimeMilliseconds()),
                ("$by", (object?)publishedBy ?? DBNull.Value));
            await ExecuteAsync(connection, transaction, "UPDATE apps SET live_version = $v WHERE tenant_id = $t AND id = $id;",
                cancellationToken, ("$t", tenant), ("$id", id), ("$v", next));
            await transaction.CommitAsync(cancellationToken);
        }
        return (await GetAsync(id, cancellationToken))!;
    }

    public async Task<AppRecord> RollbackAsync(string id, int? version, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using (var connection = database.Open())
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            var exists = await ScalarAsync(connection, transaction, "SELECT COALESCE(live_version, 0) FROM apps WHERE tenant_id = $t AND id = $id;",
                cancellationToken, ("$t", tenant), ("$id", id));
            if (exists is null) throw AppNotFound(id);
            var live = Convert.ToInt32(exists, System.Globalization.CultureInfo.InvariantCulture);
            int target;
            if (version is { } wanted)
            {
                var found = await ScalarAsync(connection, transaction, "SELECT version FROM app_versions WHERE tenant_id = $t AND app_id = $id AND version = $v;",
                    cancellationToken, ("$t", tenant), ("$id", id), ("$v", wanted));
                if (found is null) throw SovereignException.NotFound($"App '{id}' has no version {wanted}; see GET /v1/apps/{id}/versions.", "version", "app_version_not_found");
                target = wanted;
            }
            else
            {
                var previous = await ScalarAsync(connection, transaction, "SELECT MAX(version) FROM app_versions WHERE tenant_id = $t AND app_id = $id AND version < $live;",
                    cancellationToken, ("$t", tenant), ("$id", id), ("$live", live));
                if (previous is null or DBNull)
                    throw new SovereignException(ErrorKind.Conflict,
                        live == 0 ? $"App '{id}' has never been published; there is nothing to roll back to." : $"App '{id}' is live at version {live}, its first; there is no earlier version to roll back to.",
                        "version", "nothing_to_roll_back");
                target = Convert.ToInt32(previous, System.Globalization.CultureInfo.InvariantCulture);
            }
            await ExecuteAsync(connection, transaction, "UPDATE apps SET live_version = $v WHERE tenant_id = $t AND id = $id;",
                cancellationToken, ("$t", tenant), ("$id", id), ("$v", target));
            await transaction.CommitAsync(cancellationToken);
        }
        return (await GetAsync(id, cancellationToken))!;
    }

    public async Task<IReadOnlyList<AppVersion>?> VersionsAsync(string id, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = database.Open();
        if (await ScalarAsync(connection, null, "SELECT 1 FROM apps WHERE tenant_id = $t AND id = $id;", cancellationToken, ("$t", tenant), ("$id", id)) is null)
            return null;
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT app_id, version, definition, published_at, published_by FROM app_versions WHERE tenant_id = $t AND app_id = $id ORDER BY version;";
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var versions = new List<AppVersion>();
        while (await reader.ReadAsync(cancellationToken)) versions.Add(ReadVersion(reader));
        return versions;
    }

    public async Task<AppVersion?> GetVersionAsync(string id, int version, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT app_id, version, definition, published_at, published_by FROM app_versions WHERE tenant_id = $t AND app_id = $id AND version = $v;";
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$v", version);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadVersion(reader) : null;
    }

    internal static SovereignException AppNotFound(string id) =>
        SovereignException.NotFound($"No app with id '{id}'. See GET /v1/apps for this tenant's apps.", "id", "app_not_found");

    private static AppRecord ReadApp(SqliteDataReader r) => new(
        r.GetString(0),
        AppDefinition.FromJson(r.GetString(1)),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)),
        r.IsDBNull(4) ? null : r.GetInt32(4),
        r.IsDBNull(5) ? null : r.GetInt32(5),
        r.IsDBNull(6) ? null : AppDefinition.FromJson(r.GetString(6)));

    private static AppVersion ReadVersion(SqliteDataReader r) => new(
        r.GetString(0), r.GetInt32(1), AppDefinition.FromJson(r.GetString(2)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)), r.IsDBNull(4) ? null : r.GetString(4));

    private static async Task<object?> ScalarAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return await command.ExecuteScalarAsync(ct);
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction transaction, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        await command.ExecuteNonQueryAsync(ct);
    }
}
