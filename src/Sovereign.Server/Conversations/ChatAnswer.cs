using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sovereign.Server.Conversations;

/// <summary>
/// The assistant's answer as the chat completions API wrote it (one JSON object, or server-sent events), read back
/// from the wire so conversations keep exactly what the client saw, citations included. Stateless.
/// </summary>
internal sealed record ChatAnswer(string Text, string? Citations)
{
    /// <summary>Null when the output holds no completed answer (an error, or a stream that failed or was cut).</summary>
    public static ChatAnswer? Read(byte[] output, string? contentType)
    {
        var text = Encoding.UTF8.GetString(output);
        try
        {
            return contentType?.StartsWith("text/event-stream", StringComparison.Ordinal) == true ? FromStream(text) : FromObject(JsonNode.Parse(text));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ChatAnswer? FromObject(JsonNode? completion)
    {
        var message = completion?["choices"]?[0]?["message"];
        if (message?["content"] is not JsonValue content) return null;
        return new ChatAnswer(content.GetValue<string>(), CitationsOf(completion, message));
    }

    private static ChatAnswer? FromStream(string sse)
    {
        var answer = new StringBuilder();
        JsonNode? citations = null;
        var finished = false;
        foreach (var line in sse.Split('\n'))
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
            var data = line[5..].Trim();
            if (data == "[DONE]") break;
            var chunk = JsonNode.Parse(data);
            if (chunk?["error"] is not null) return null;
            // Extension chunks (citations, tool_steps, usage) have "choices": [], which has no [0] to index.
            var choice = chunk?["choices"] is JsonArray { Count: > 0 } choices ? choices[0] : null;
            if (choice?["delta"]?["content"] is JsonValue piece) answer.Append(piece.GetValue<string>());
            if (choice?["finish_reason"] is JsonValue) finished = true;
            citations ??= CitationNode(chunk, choice?["delta"]);
        }
        return finished ? new ChatAnswer(answer.ToString(), citations?.ToJsonString()) : null;
    }

    private static string? CitationsOf(JsonNode? completion, JsonNode? message) => CitationNode(completion, message)?.ToJsonString();

    // Knowledge answers carry their citations beside the message or on the response; keep whichever is there.
    private static JsonNode? CitationNode(JsonNode? response, JsonNode? message) =>
        message?["citations"] ?? response?["citations"] ?? response?["knowledge"]?["citations"];
}
