using Npgsql;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Apps.Conversations;

/// <summary>
/// <see cref="IConversationStore"/> in the cluster's PostgreSQL, so a conversation kept on one node continues on any
/// other. An append locks the conversation's row, so turns sent to two nodes at once get consecutive numbers.
/// Unlike SQLite's <c>secure_delete</c>, PostgreSQL leaves a deleted row's bytes in its pages until VACUUM reuses
/// them; an operator who must guarantee erasure runs VACUUM (and encrypts the volume). Thread-safe.
/// </summary>
internal sealed class PostgresConversationStore(PostgresDatabase database, TimeProvider time) : IConversationStore
{
    private const string SelectHeader = """
        SELECT c.id, c.owner, c.model, c.title, c.created_at, c.updated_at,
               (SELECT COUNT(*) FROM conversation_messages m WHERE m.conversation_id = c.id)::INTEGER
        FROM conversations c
        """;

    public async Task<Conversation> CreateAsync(string owner, string model, string title, IReadOnlyList<NewConversationMessage> messages, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var id = "conv_" + Guid.NewGuid().ToString("N");
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var command = new NpgsqlCommand(
                "INSERT INTO conversations (id, tenant_id, owner, model, title, created_at, updated_at) VALUES (@id, @t, @o, @m, @title, @now, @now)", connection, transaction))
            {
                command.Parameters.AddWithValue("id", id);
                command.Parameters.AddWithValue("t", tenant);
                command.Parameters.AddWithValue("o", owner);
                command.Parameters.AddWithValue("m", model);
                command.Parameters.AddWithValue("title", title);
                command.Parameters.AddWithValue("now", now);
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
        await using var connection = await database.OpenAsync(cancellationToken);
        var header = await ReadHeaderAsync(connection, null, tenant, owner, id, lockRow: false, cancellationToken);
        if (header is null) return null;
        await using var command = new NpgsqlCommand(
            "SELECT seq, role, content, citations, created_at FROM conversation_messages WHERE conversation_id = @id ORDER BY seq", connection);
        command.Parameters.AddWithValue("id", id);
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
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand { Connection = connection };
        var filter = "";
        if (!string.IsNullOrWhiteSpace(search))
        {
            // ILIKE: SQLite's LIKE ignores case too.
            filter = """
                 AND (c.title ILIKE @q ESCAPE '\' OR EXISTS (SELECT 1 FROM conversation_messages m WHERE m.conversation_id = c.id AND m.content ILIKE @q ESCAPE '\'))
                """;
            command.Parameters.AddWithValue("q", "%" + search.Trim().Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + "%");
        }
        command.CommandText = $"{SelectHeader} WHERE c.tenant_id = @t AND c.owner = @o{filter} ORDER BY c.updated_at DESC, c.id COLLATE \"C\" LIMIT @limit";
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("o", owner);
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<Conversation>();
        while (await reader.ReadAsync(cancellationToken)) list.Add(ReadHeader(reader));
        return list;
    }

    public async Task<Conversation?> AppendAsync(string owner, string id, IReadOnlyList<NewConversationMessage> messages, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            if (await ReadHeaderAsync(connection, transaction, tenant, owner, id, lockRow: true, cancellationToken) is null) return null;
            int next;
            await using (var command = new NpgsqlCommand("SELECT COALESCE(MAX(seq), -1) + 1 FROM conversation_messages WHERE conversation_id = @id", connection, transaction))
            {
                command.Parameters.AddWithValue("id", id);
                next = (int)(await command.ExecuteScalarAsync(cancellationToken))!;
            }
            await InsertMessagesAsync(connection, transaction, id, next, messages, now, cancellationToken);
            await using (var command = new NpgsqlCommand("UPDATE conversations SET updated_at = @now WHERE id = @id", connection, transaction))
            {
                command.Parameters.AddWithValue("id", id);
                command.Parameters.AddWithValue("now", now);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
        }
        return await GetAsync(owner, id, cancellationToken);
    }

    public async Task<Conversation?> RenameAsync(string owner, string id, string title, CancellationToken cancellationToken = default)
    {
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await using var command = new NpgsqlCommand(
                "UPDATE conversations SET title = @title, updated_at = @now WHERE tenant_id = @t AND owner = @o AND id = @id", connection);
            command.Parameters.AddWithValue("t", TenantScope.Require());
            command.Parameters.AddWithValue("o", owner);
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("title", title);
            command.Parameters.AddWithValue("now", time.GetUtcNow().ToUnixTimeMilliseconds());
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0) return null;
        }
        return await GetAsync(owner, id, cancellationToken);
    }

    public async Task<bool> DeleteAsync(string owner, string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // The messages go with it (ON DELETE CASCADE).
        await using var command = new NpgsqlCommand("DELETE FROM conversations WHERE tenant_id = @t AND owner = @o AND id = @id", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("o", owner);
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    private static async Task InsertMessagesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string id, int firstSeq,
        IReadOnlyList<NewConversationMessage> messages, long now, CancellationToken ct)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            await using var command = new NpgsqlCommand(
                "INSERT INTO conversation_messages (conversation_id, seq, role, content, citations, created_at) VALUES (@id, @seq, @role, @content, @citations, @now)",
                connection, transaction);
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("seq", firstSeq + i);
            command.Parameters.AddWithValue("role", messages[i].Role);
            command.Parameters.AddWithValue("content", messages[i].Content);
            command.Parameters.Add(PostgresValues.Text("citations", messages[i].Citations));
            command.Parameters.AddWithValue("now", now);
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private static async Task<Conversation?> ReadHeaderAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string tenant, string owner, string id,
        bool lockRow, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"{SelectHeader} WHERE c.tenant_id = @t AND c.owner = @o AND c.id = @id{(lockRow ? " FOR UPDATE OF c" : "")}", connection, transaction);
        command.Parameters.AddWithValue("t", tenant);
        command.Parameters.AddWithValue("o", owner);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadHeader(reader) : null;
    }

    private static Conversation ReadHeader(NpgsqlDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)), r.GetInt32(6), []);
}
