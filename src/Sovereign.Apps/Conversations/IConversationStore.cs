namespace Sovereign.Apps.Conversations;

/// <summary>
/// Kept chats, each owned by one caller (an API key or user) of the current tenant
/// (<see cref="Core.Tenancy.TenantScope"/>). Someone else's conversation does not exist here. Deleting removes the
/// conversation and its messages from the database for good. Implementations are thread-safe.
/// </summary>
public interface IConversationStore
{
    Task<Conversation> CreateAsync(string owner, string model, string title, IReadOnlyList<NewConversationMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>The conversation with its messages in order; null when absent or not the owner's.</summary>
    Task<Conversation?> GetAsync(string owner, string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// The owner's conversations, most recently updated first, without messages. With <paramref name="search"/>,
    /// only those whose title or any message contains it (case-insensitive for ASCII letters).
    /// </summary>
    Task<IReadOnlyList<Conversation>> ListAsync(string owner, string? search, int limit, CancellationToken cancellationToken = default);

    /// <summary>Appends messages (in order) and returns the conversation; null when absent or not the owner's.</summary>
    Task<Conversation?> AppendAsync(string owner, string id, IReadOnlyList<NewConversationMessage> messages, CancellationToken cancellationToken = default);

    Task<Conversation?> RenameAsync(string owner, string id, string title, CancellationToken cancellationToken = default);

    /// <summary>Deletes the conversation and its messages, overwriting their bytes in the database file. False when absent.</summary>
    Task<bool> DeleteAsync(string owner, string id, CancellationToken cancellationToken = default);
}

/// <param name="Citations">JSON the answer's citations arrived in (from the knowledge search), kept as given.</param>
public sealed record NewConversationMessage(string Role, string Content, string? Citations = null);

public sealed record ConversationMessage(int Seq, string Role, string Content, string? Citations, DateTimeOffset CreatedAt);

/// <param name="Model">What the chat goes to: a model name or <c>app:&lt;id&gt;</c>.</param>
public sealed record Conversation(string Id, string Owner, string Model, string Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    int MessageCount, IReadOnlyList<ConversationMessage> Messages);
