using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sovereign.Agents.Tools.Http;

/// <summary>
/// The HTTP tool narrowed to a list of exact URLs fetched with GET: its schema offers them as an enum, so a forced call
/// can only name one of them, and any other URL is refused. Every rule of <see cref="HttpRequestTool"/> still applies.
/// Thread-safe.
/// </summary>
public sealed class ScopedHttpRequestTool(HttpRequestTool inner, IReadOnlyList<string> urls) : IAgentTool
{
    public string Name => inner.Name;

    public string Description => "Fetches one of the organisation's configured URLs (GET) and returns the status, content type and body.";

    public JsonElement ParametersSchema { get; } = ToolArguments.Schema(new JsonObject
    {
        ["type"] = "object",
        ["properties"] = new JsonObject { ["url"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. urls.Select(u => (JsonNode?)JsonValue.Create(u))]) } },
        ["required"] = new JsonArray("url"),
        ["additionalProperties"] = false,
    }.ToJsonString());

    public Task<ToolResult> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        string url;
        try
        {
            url = ToolArguments.RequiredString(arguments, "url");
        }
        catch (ToolArgumentException e)
        {
            return Task.FromResult(ToolResult.Error(e.Message));
        }
        if (!urls.Contains(url, StringComparer.Ordinal))
            return Task.FromResult(ToolResult.Error($"'{url}' is not one of this agent's URLs: {string.Join(", ", urls)}."));
        using var request = JsonDocument.Parse(new JsonObject { ["url"] = url, ["method"] = "GET" }.ToJsonString());
        return inner.InvokeAsync(request.RootElement.Clone(), cancellationToken);
    }
}
