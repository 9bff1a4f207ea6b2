using System.Text.Json;
using System.Text.Json.Nodes;
using Sovereign.Core.Errors;
using Sovereign.Knowledge.Retrieval;

namespace Sovereign.Agents.Tools.Knowledge;

/// <summary>
/// The built-in knowledge-search tool: hybrid retrieval over the knowledge bases the agent definition names (the model
/// chooses the query, never the knowledge bases). Passages come back with what a citation needs. Thread-safe.
/// </summary>
public sealed class KnowledgeSearchTool(IKnowledgeSearch search, IReadOnlyList<string> knowledgeBases, int topK = 5) : IAgentTool
{
    public const string ToolName = "knowledge_search";

    /// <summary>Longest passage text handed to the model; retrieval chunks are normally far shorter.</summary>
    private const int MaxPassageChars = 4_000;

    public string Name => ToolName;

    public string Description => "Searches the organisation's documents and returns the most relevant passages, each with its document, page and headings for citation.";

    public JsonElement ParametersSchema { get; } = ToolArguments.Schema("""
        {
          "type": "object",
          "properties": {
            "query": { "type": "string", "description": "What to look for", "minLength": 1, "maxLength": 500 }
          },
          "required": ["query"],
          "additionalProperties": false
        }
        """);

    public async Task<ToolResult> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        string query;
        try
        {
            query = ToolArguments.RequiredString(arguments, "query").Trim();
            if (query.Length == 0) throw new ToolArgumentException("The argument 'query' is empty.");
        }
        catch (ToolArgumentException e)
        {
            return ToolResult.Error(e.Message);
        }

        IReadOnlyList<SearchHit> hits;
        try
        {
            hits = await search.SearchAsync(new SearchQuery(knowledgeBases, query, topK), cancellationToken);
        }
        catch (SovereignException e) when (e.Kind is not ErrorKind.Internal)
        {
            return ToolResult.Error($"The search failed: {e.Message}");
        }

        var passages = new JsonArray();
        foreach (var hit in hits)
        {
            passages.Add(new JsonObject
            {
                ["document"] = hit.DocumentName,
                ["document_id"] = hit.DocumentId,
                ["knowledge_base"] = hit.KnowledgeBaseId,
                ["chunk_id"] = hit.ChunkId,
                ["page"] = hit.Page,
                ["headings"] = new JsonArray([.. hit.HeadingPath.Select(h => (JsonNode?)JsonValue.Create(h))]),
                ["score"] = Math.Round(hit.Score, 4),
                ["text"] = hit.Text.Length > MaxPassageChars ? hit.Text[..MaxPassageChars] + "…" : hit.Text,
            });
        }
        // Passages first: a trace keeps a result's first 500 characters, which then hold the first source rather than an echo of the query.
        return new ToolResult(new JsonObject { ["passages"] = passages, ["query"] = query }.ToJsonString());
    }
}
