using Microsoft.Data.Sqlite;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Apps.Conversations;

/// <summary>
/// <see cref="IConversationStore"/> in SQLite. Deletion runs with <c>secure_delete</c> on and then checkpoints the
/// write-ahead log, so the text is overwritten in the database file, not only unlinked from it. Thread-safe.
/// </summary>
internal sealed class SqliteConversationStore(SqliteDatabase database, TimeProvider time) : IConversationStore
{
    public async Task<Conversation> CreateAsync(string owner, string model, string title, IReadOnlyList<NewConversationMessage> messages, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var id = "conv_" + Guid.NewGuid().ToString("N");
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using (var connection = database.Open())
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = "INSERT INTO conversations (id, tenant_id, owner, model, title, created_at, updated_at) VALUES ($id, $t, $o, $m, $title, $now, $now);";
                command.Parameters.AddWithValue("$id", id);
                command.Parameters.AddWithValue("$t", tenant);
                command.Parameters.AddWithValue("$o", owner);
                command.Parameters.AddWithValue("$m", model);
                command.Parameters.AddWithValue("$title", title);
                command.Parameters.AddWithValue("$now", now);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            await InsertMessagesAsync(connection, transaction, id, 0, messages, now, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        return (await GetAsync(owner, id, cancellationToken))!;
    }

    public async Task<Conversation?> GetAsync(string owner, string id, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = database.Open();
        var header = await ReadHeaderAsync(connection, tenant, owner, id, cancellationToken);
        if (header is null) return null;
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, role, content, citations, created_at FROM conversation_messages WHERE conversation_id = $id ORDER BY seq;";
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var messages = new List<ConversationMessage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            messages.Add(new ConversationMessage(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
        }
        return header with { Messages = messages, MessageCount = messages.Count };
    }

    public async Task<IReadOnlyList<Conversation>> ListAsync(string owner, string? search, int limit, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        var filter = "";
        if (!string.IsNullOrWhiteSpace(search))
        {
            filter = """
                 AND (c.title LIKE $q ESCAPE '\' OR EXISTS (SELECT 1 FROM conversation_messages m WHERE m.conversation_id = c.id AND m.content LIKE $q ESCAPE '\'))
                """;
            command.Parameters.AddWithValue("$q", "%" + search.Trim().Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + "%");
        }
        command.CommandText = $"""
            SELECT c.id, c.owner, c.model, c.title, c.created_at, c.updated_at,
                   (SELECT COUNT(*) FROM conversation_messages m WHERE m.conversation_id = c.id)
            FROM conversations c WHERE c.tenant_id = $t AND c.owner = $o{filter}
            ORDER BY c.updated_at DESC, c.id LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$o", owner);
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<Conversation>();
        while (await reader.ReadAsync(cancellationToken)) list.Add(ReadHeader(reader));
        return list;
    }

    public async Task<Conversation?> AppendAsync(string owner, string id, IReadOnlyList<NewConversationMessage> messages, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using (var connection = database.Open())
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            if (await ReadHeaderAsync(connection, tenant, owner, id, cancellationToken, transaction) is null) return null;
            int next;
            await using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = "SELECT COALESCE(MAX(seq), -1) + 1 FROM conversation_messages WHERE conversation_id = $id;";
                command.Parameters.AddWithValue("$id", id);
                next = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            }
            await InsertMessagesAsync(connection, transaction, id, next, messages, now, cancellationToken);
            await using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = "UPDATE conversations SET updated_at = $now WHERE id = $id;";
                command.Parameters.AddWithValue("$id", id);
                command.Parameters.AddWithValue("$now", now);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
        }
        return await GetAsync(owner, id, cancellationToken);
    }

    public async Task<Conversation?> RenameAsync(string owner, string id, string title, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using (var connection = database.Open())
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE conversations SET title = $title, updated_at = $now WHERE tenant_id = $t AND owner = $o AND id = $id;";
            command.Parameters.AddWithValue("$t", tenant);
            command.Parameters.AddWithValue("$o", owner);
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$title", title);
            command.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeMilliseconds());
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0) return null;
        }
        return await GetAsync(owner, id, cancellationToken);
    }

    public async Task<bool> DeleteAsync(string owner, string id, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = database.Open();
        await ExecuteAsync(connection, "PRAGMA secure_delete = ON;", cancellationToken);
        try
        {
            await using (var transaction = connection.BeginTransaction(deferred: false))
            {
                if (await ReadHeaderAsync(connection, tenant, owner, id, cancellationToken, transaction) is null) return false;
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "DELETE FROM conversation_messages WHERE conversation_id = $id; DELETE FROM conversations WHERE id = $id;";
                command.Parameters.AddWithValue("$id", id);
                await command.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
            // The text also sits in older frames of the write-ahead log until a checkpoint copies the zeroed pages over
            // it; checkpoint now (best effort: a busy reader can postpone it, and a later checkpoint finishes it).
            await ExecuteAsync(connection, "PRAGMA wal_checkpoint(TRUNCATE);", cancellationToken);
            return true;
        }
        finally
        {
            // The connection goes back to the pool; other work there need not pay for zeroing.
            await ExecuteAsync(connection, "PRAGMA secure_delete = OFF;", CancellationToken.None);
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task InsertMessagesAsync(SqliteConnection connection, SqliteTransaction transaction, string id, int firstSeq,
        IReadOnlyList<NewConversationMessage> messages, long now, CancellationToken ct)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO conversation_messages (conversation_id, seq, role, content, citations, created_at) VALUES ($id, $seq, $role, $content, $citations, $now);";
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$seq", firstSeq + i);
            command.Parameters.AddWithValue("$role", messages[i].Role);
            command.Parameters.AddWithValue("$content", messages[i].Content);
            command.Parameters.AddWithValue("$citations", (object?)messages[i].Citations ?? DBNull.Value);
            command.Parameters.AddWithValue("$now", now);
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private static async Task<Conversation?> ReadHeaderAsync(SqliteConnection connection, string tenant, string owner, string id, CancellationToken ct, SqliteTransaction? transaction = null)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            SELECT c.id, c.owner, c.model, c.title, c.created_at, c.updated_at,
                   (SELECT COUNT(*) FROM conversation_messages m WHERE m.conversation_id = c.id)
            FROM conversations c WHERE c.tenant_id = $t AND c.owner = $o AND c.id = $id;
            """;
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$o", owner);
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadHeader(reader) : null;
    }

    private static Conversation ReadHeader(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)), r.GetInt32(6), []);
}
