using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sovereign.Core.Generation;
using Sovereign.Knowledge.Citations;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Knowledge;

/// <summary>
/// Answers with citations: the <c>knowledge</c> extension field of <c>/v1/chat/completions</c>.
/// <code>"knowledge": {"bases": ["handbook"], "top_k": 5, "mode": "hybrid", "document_ids": ["doc_…"]}</code>
/// <list type="number">
/// <item>Parse the field with the request's other checks (every problem reported at once).</item>
/// <item>Retrieve passages for the last user message from the named bases.</item>
/// <item>Put them into the system message as numbered data ([1], [2], …) with leave to say the answer is not there.</item>
/// <item>Wrap the response format so the response carries <c>citations</c> (whole: a top-level field; streamed: one extra
/// chunk right after the opening one, before any text).</item>
/// </list>
/// Thread-safe (stateless apart from its services).
/// </summary>
internal sealed class KnowledgeAugmenter(IKnowledgeSearch search)
{
    public const int DefaultTopK = 5;
    public const int MaxTopK = 20;

    /// <summary>The parsed field, or null when the request has none (then nothing changes).</summary>
    public static KnowledgeRequest? Parse(JsonElement? field, RequestProblems problems)
    {
        if (field is not { } element || element.ValueKind == JsonValueKind.Null) return null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            problems.Add("knowledge", "Invalid type for 'knowledge': expected an object such as {\"bases\": [\"handbook\"], \"top_k\": 5}.", "invalid_type");
            return null;
        }
        var bases = StringArray(element, "bases", problems);
        if (bases is null) return null;
        if (bases.Count == 0)
        {
            problems.Add("knowledge.bases", "Invalid 'knowledge.bases': name at least one knowledge base.", "empty_array");
            return null;
        }
        var topK = DefaultTopK;
        if (element.TryGetProperty("top_k", out var k))
        {
            if (k.ValueKind != JsonValueKind.Number || !k.TryGetInt32(out topK) || topK < 1 || topK > MaxTopK)
            {
                problems.Add("knowledge.top_k", $"knowledge.top_k must be an integer between 1 and {MaxTopK}.", "invalid_value");
                return null;
            }
        }
        string? modeText = null;
        if (element.TryGetProperty("mode", out var m))
        {
            if (m.ValueKind != JsonValueKind.String)
            {
                problems.Add("knowledge.mode", "Invalid type for 'knowledge.mode': expected a string.", "invalid_type");
                return null;
            }
            modeText = m.GetString();
        }
        var mode = KnowledgeApi.ParseMode(modeText, "knowledge.mode", problems);
        var documents = element.TryGetProperty("document_ids", out _) ? StringArray(element, "document_ids", problems) : null;
        return new KnowledgeRequest(bases, topK, mode, documents);
    }

    /// <summary>
    /// Adds the passages to <paramref name="messages"/> and returns the format that writes the citations; with no
    /// <paramref name="request"/>, returns <paramref name="format"/> unchanged.
    /// </summary>
    public async Task<ResponseFormat> AugmentAsync(KnowledgeRequest? request, List<ChatMessage> messages, ResponseFormat format, CancellationToken cancellationToken)
    {
        if (request is null) return format;

        // :: Step 2
        var question = messages.LastOrDefault(m => m.Role == "user")?.Content;
        if (string.IsNullOrWhiteSpace(question))
            throw Core.Errors.SovereignException.Invalid("'knowledge' needs a user message to search for.", "messages", "missing_user_message");
        if (question.Length > HybridSearch.MaxQueryChars) question = question[^HybridSearch.MaxQueryChars..];
        var hits = await search.SearchAsync(new SearchQuery(request.Bases, question, request.TopK, request.DocumentIds, request.Mode), cancellationToken);

        // :: Step 3
        var grounding = GroundedPrompt.Build(hits);
        if (messages.Count > 0 && messages[0].Role == "system") messages[0] = messages[0] with { Content = messages[0].Content + "\n\n" + grounding };
        else messages.Insert(0, new ChatMessage("system", grounding));

        // :: Step 4
        return new CitingChatResponseFormat(format, [.. GroundedPrompt.CitationsOf(hits).Select(CitationObject.From)]);
    }

    private static List<string>? StringArray(JsonElement parent, string name, RequestProblems problems)
    {
        var param = $"knowledge.{name}";
        if (!parent.TryGetProperty(name, out var array))
        {
            problems.Missing(param);
            return null;
        }
        if (array.ValueKind != JsonValueKind.Array || array.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(e.GetString())))
        {
            problems.Add(param, $"Invalid '{param}': expected an array of non-empty strings.", "invalid_type");
            return null;
        }
        return [.. array.EnumerateArray().Select(e => e.GetString()!)];
    }
}

internal sealed record KnowledgeRequest(IReadOnlyList<string> Bases, int TopK, SearchMode Mode, IReadOnlyList<string>? DocumentIds);

/// <summary>
/// A chat response format that adds <c>citations</c>: to the whole response as a top-level field, and to a stream as one
/// extra <c>chat.completion.chunk</c> with no choices, sent right after the opening (role) chunk so a client can show
/// the sources while the answer streams. Everything else is the wrapped format's. Immutable.
/// </summary>
internal sealed class CitingChatResponseFormat(ResponseFormat inner, IReadOnlyList<CitationObject> citations)
    : ResponseFormat(inner.Id, inner.Created, inner.Model, inner.SystemFingerprint)
{
    public IReadOnlyList<CitationObject> Citations { get; } = citations;

    public override Task WriteCompleteAsync(HttpResponse response, string text, FinishReason reason, GenerationUsage usage, CancellationToken cancellationToken)
    {
        var completion = new CitedChatCompletion(Id, "chat.completion", Created, Model,
            [new ChatChoice(0, new ChatMessageOutput("assistant", text, Refusal: null), Logprobs: null, FinishReasonText(reason))],
            UsageOf(usage), SystemFingerprint, Citations);
        return response.WriteAsJsonAsync(completion, KnowledgeJsonContext.Default.CitedChatCompletion, cancellationToken: cancellationToken);
    }

    public override async ValueTask WriteOpeningAsync(SseWriter sse, CancellationToken cancellationToken)
    {
        await inner.WriteOpeningAsync(sse, cancellationToken);
        await sse.WriteAsync(new CitationsChunk(Id, "chat.completion.chunk", Created, Model, SystemFingerprint, [], Citations),
            KnowledgeJsonContext.Default.CitationsChunk, cancellationToken);
    }

    public override ValueTask WriteDeltaAsync(SseWriter sse, string text, CancellationToken cancellationToken) => inner.WriteDeltaAsync(sse, text, cancellationToken);

    public override ValueTask WriteFinishAsync(SseWriter sse, FinishReason reason, CancellationToken cancellationToken) => inner.WriteFinishAsync(sse, reason, cancellationToken);

    public override ValueTask WriteUsageAsync(SseWriter sse, GenerationUsage usage, CancellationToken cancellationToken) => inner.WriteUsageAsync(sse, usage, cancellationToken);
}
