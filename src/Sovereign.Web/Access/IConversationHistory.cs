namespace Sovereign.Web.Access;

/// <summary>A kept conversation in the history list (without its messages). Immutable.</summary>
public sealed record WebConversationSummary(string Id, string Title, string Model, DateTimeOffset UpdatedAt, int MessageCount);

/// <summary>A kept message; <paramref name="Citations"/> are the passages its answer was grounded on. Immutable.</summary>
public sealed record WebConversationMessage(string Role, string Content, IReadOnlyList<WebCitation> Citations);

public enum WebExportFormat
{
    Json,
    Markdown,
}

/// <summary>A conversation as a file to download, in the same shape as <c>GET /v1/conversations/{id}/export</c>. Immutable.</summary>
public sealed record WebConversationFile(string FileName, string ContentType, string Text);

/// <summary>
/// The signed-in user's kept chats, over the same store as <c>/v1/conversations</c> (a key sees the same history in
/// the browser and through the API). Someone else's conversation looks absent. Thread-safe.
/// </summary>
public interface IConversationHistory
{
    Task<IReadOnlyList<WebConversationSummary>> ListAsync(WebUser user, string? search, CancellationToken cancellationToken = default);

    /// <summary>The conversation's messages in order; null when absent.</summary>
    Task<IReadOnlyList<WebConversationMessage>?> GetAsync(WebUser user, string id, CancellationToken cancellationToken = default);

    /// <summary>Keeps a new conversation with its first messages and returns its id.</summary>
    Task<string> CreateAsync(WebUser user, string model, string title, IReadOnlyList<WebConversationMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>Appends messages; false when the conversation is gone.</summary>
    Task<bool> AppendAsync(WebUser user, string id, IReadOnlyList<WebConversationMessage> messages, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(WebUser user, string id, CancellationToken cancellationToken = default);

    int MaxTitleLength { get; }

    /// <summary>Gives the conversation a new title (trimmed; empty or too long throws <c>SovereignException</c>); false when absent.</summary>
    Task<bool> RenameAsync(WebUser user, string id, string title, CancellationToken cancellationToken = default);

    /// <summary>The conversation as a file; null when absent.</summary>
    Task<WebConversationFile?> ExportAsync(WebUser user, string id, WebExportFormat format, CancellationToken cancellationToken = default);
}
