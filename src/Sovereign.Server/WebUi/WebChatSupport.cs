using System.Text.Json;
using Sovereign.Apps.Conversations;
using Sovereign.Apps.Definitions;
using Sovereign.Apps.Store;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Knowledge.Citations;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Server.Conversations;
using Sovereign.Web.Access;

namespace Sovereign.Server.WebUi;

/// <summary>
/// Grounded answers for the browser chat with the knowledge area's own search and prompt (<see cref="GroundedPrompt"/>),
/// exactly what <c>KnowledgeAugmenter</c> gives <c>/v1/chat/completions</c>. Thread-safe.
/// </summary>
internal sealed class WebChatGrounding(IKnowledgeSearch search) : IChatGrounding
{
    public async Task<WebGrounding> GroundAsync(string tenantId, IReadOnlyList<string> knowledgeBases, string question, int topK,
        CancellationToken cancellationToken = default)
    {
        if (question.Length > HybridSearch.MaxQueryChars) question = question[^HybridSearch.MaxQueryChars..];
        IReadOnlyList<SearchHit> hits;
        using (TenantScope.Enter(tenantId)) hits = await search.SearchAsync(new SearchQuery(knowledgeBases, question, topK), cancellationToken);
        return new WebGrounding(GroundedPrompt.Build(hits),
            [.. GroundedPrompt.CitationsOf(hits).Select(c => new WebCitation(c.Marker, c.KnowledgeBaseId, c.DocumentId, c.DocumentName, c.Page, c.HeadingPath, c.Text))]);
    }
}

/// <summary>
/// The browser's chat history over the conversations store. The owner is the one <c>/v1/conversations</c> uses (the
/// key's id; for a signed-in user, the session principal's), so a key's history is the same in both. Citations are kept
/// as JSON beside the answer, as the API keeps them. Thread-safe.
/// </summary>
internal sealed class WebConversationHistory(IConversationStore store) : IConversationHistory
{
    private const int ListLimit = 100;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<IReadOnlyList<WebConversationSummary>> ListAsync(WebUser user, string? search, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(user.TenantId))
        {
            var list = await store.ListAsync(Owner(user), string.IsNullOrWhiteSpace(search) ? null : search.Trim(), ListLimit, cancellationToken);
            return [.. list.Select(c => new WebConversationSummary(c.Id, c.Title, c.Model, c.UpdatedAt, c.MessageCount))];
        }
    }

    public async Task<IReadOnlyList<WebConversationMessage>?> GetAsync(WebUser user, string id, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(user.TenantId))
        {
            var found = await store.GetAsync(Owner(user), id, cancellationToken);
            return found is null ? null : [.. found.Messages.Select(m => new WebConversationMessage(m.Role, m.Content, CitationsOf(m.Citations)))];
        }
    }

    public async Task<string> CreateAsync(WebUser user, string model, string title, IReadOnlyList<WebConversationMessage> messages,
        CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(user.TenantId)) return (await store.CreateAsync(Owner(user), model, title, [.. messages.Select(ToNew)], cancellationToken)).Id;
    }

    public async Task<bool> AppendAsync(WebUser user, string id, IReadOnlyList<WebConversationMessage> messages, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(user.TenantId)) return await store.AppendAsync(Owner(user), id, [.. messages.Select(ToNew)], cancellationToken) is not null;
    }

    public async Task<bool> DeleteAsync(WebUser user, string id, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(user.TenantId)) return await store.DeleteAsync(Owner(user), id, cancellationToken);
    }

    public int MaxTitleLength => ConversationsApi.MaxTitleLength;

    public async Task<bool> RenameAsync(WebUser user, string id, string title, CancellationToken cancellationToken = default)
    {
        title = title.Trim();
        if (title.Length == 0) throw SovereignException.Invalid("'title' must be a non-empty string.", "title", "invalid_type");
        if (title.Length > MaxTitleLength)
            throw SovereignException.Invalid($"title must be at most {MaxTitleLength} characters, got {title.Length}.", "title", "invalid_value");
        using (TenantScope.Enter(user.TenantId)) return await store.RenameAsync(Owner(user), id, title, cancellationToken) is not null;
    }

    public async Task<WebConversationFile?> ExportAsync(WebUser user, string id, WebExportFormat format, CancellationToken cancellationToken = default)
    {
        Conversation? found;
        using (TenantScope.Enter(user.TenantId)) found = await store.GetAsync(Owner(user), id, cancellationToken);
        if (found is null) return null;
        // The API's export, byte for byte, so a file saved from the browser and one fetched with a key are the same.
        return format == WebExportFormat.Markdown
            ? new WebConversationFile($"{id}.md", "text/markdown", ConversationExport.ToMarkdown(found))
            : new WebConversationFile($"{id}.json", "application/json",
                ConversationExport.ToJson(found).ToJsonString(new JsonSerializerOptions(AppDefinition.Json) { WriteIndented = true }));
    }

    private static string Owner(WebUser user) => user.Method == WebSignInMethods.ApiKey ? user.Id : $"session:{user.Id}";

    private static NewConversationMessage ToNew(WebConversationMessage m) =>
        new(m.Role, m.Content, m.Citations.Count == 0 ? null : JsonSerializer.Serialize(m.Citations, Json));

    private static IReadOnlyList<WebCitation> CitationsOf(string? json)
    {
        if (string.IsNullOrEmpty(json)) return [];
        try
        {
            return JsonSerializer.Deserialize<List<WebCitation>>(json, Json) ?? [];
        }
        catch (JsonException)
        {
            // Kept by another client in another shape: the answer still shows, without its sources.
            return [];
        }
    }
}

/// <summary>The apps page and each app's chat page over the apps store, applying the live version as <c>AppChatResolver</c> does. Thread-safe.</summary>
internal sealed class WebAppCatalog(IAppStore store) : IAppCatalog
{
    public async Task<IReadOnlyList<WebApp>> ListAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(tenantId))
        {
            return [.. (await store.ListAsync(cancellationToken)).Select(a =>
            {
                var d = a.Live ?? a.Draft;
                return new WebApp(a.Id, d.Name, d.Description, d.Model, a.LiveVersion, d.Languages);
            })];
        }
    }

    public async Task<WebAppChat?> LiveAsync(string tenantId, string id, string? language, CancellationToken cancellationToken = default)
    {
        AppRecord? record;
        using (TenantScope.Enter(tenantId)) record = await store.GetAsync(id, cancellationToken);
        if (record?.Live is not { } live) return null;
        var spoken = language is not null && live.Languages.Contains(language) ? language : null;
        var texts = live.TextsFor(spoken);
        return new WebAppChat(record.Id, texts.Name ?? live.Name, texts.Description ?? live.Description, live.Model, AppPrompt.SystemPrompt(live, spoken),
            live.Sampling?.Temperature, live.Sampling?.MaxTokens, live.Knowledge?.Bases ?? [], live.Knowledge?.TopK ?? 5,
            texts.StarterQuestions ?? live.StarterQuestions);
    }
}
