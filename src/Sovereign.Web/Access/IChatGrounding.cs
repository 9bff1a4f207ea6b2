namespace Sovereign.Web.Access;

/// <summary>A numbered source of an answer ([1], [2], …): the passage it was given. Immutable.</summary>
public sealed record WebCitation(int Marker, string KnowledgeBaseId, string DocumentId, string DocumentName, int? Page, IReadOnlyList<string> HeadingPath,
    string Text);

/// <summary>What grounding adds to a chat: text for the system message and the citations it numbers. Immutable.</summary>
public sealed record WebGrounding(string SystemText, IReadOnlyList<WebCitation> Citations);

/// <summary>
/// Answers with citations from the browser, as the <c>knowledge</c> field of <c>/v1/chat/completions</c> does: the
/// passages found for the question go into the system message, numbered, and come back as citations. Thread-safe.
/// </summary>
public interface IChatGrounding
{
    Task<WebGrounding> GroundAsync(string tenantId, IReadOnlyList<string> knowledgeBases, string question, int topK,
        CancellationToken cancellationToken = default);
}
