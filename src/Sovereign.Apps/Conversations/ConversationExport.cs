using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sovereign.Apps.Conversations;

/// <summary>A conversation as a JSON document or as Markdown, for people to keep or hand on. Stateless.</summary>
public static class ConversationExport
{
    public static JsonObject ToJson(Conversation c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var messages = new JsonArray();
        foreach (var m in c.Messages)
        {
            var message = new JsonObject
            {
                ["role"] = m.Role,
                ["content"] = m.Content,
                ["created_at"] = m.CreatedAt.ToUnixTimeSeconds(),
            };
            if (m.Citations is not null) message["citations"] = JsonNode.Parse(m.Citations);
            messages.Add(message);
        }
        return new JsonObject
        {
            ["id"] = c.Id,
            ["object"] = "conversation",
            ["title"] = c.Title,
            ["model"] = c.Model,
            ["created_at"] = c.CreatedAt.ToUnixTimeSeconds(),
            ["updated_at"] = c.UpdatedAt.ToUnixTimeSeconds(),
            ["messages"] = messages,
        };
    }

    /// <summary>A title, the model and dates, then each message under a heading naming its role; citations as a list.</summary>
    public static string ToMarkdown(Conversation c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var md = new StringBuilder();
        md.Append("# ").AppendLine(OneLine(c.Title)).AppendLine();
        md.Append("- Model: `").Append(c.Model).AppendLine("`");
        md.Append("- Started: ").AppendLine(c.CreatedAt.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
        md.Append("- Last message: ").AppendLine(c.UpdatedAt.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
        foreach (var m in c.Messages)
        {
            md.AppendLine().Append("## ").AppendLine(RoleHeading(m.Role)).AppendLine();
            md.AppendLine(m.Content.TrimEnd());
            if (m.Citations is not null && JsonNode.Parse(m.Citations) is JsonArray citations && citations.Count > 0)
            {
                md.AppendLine().AppendLine("Sources:");
                var n = 1;
                foreach (var citation in citations)
                {
                    var name = citation?["document_name"]?.ToString() ?? citation?["title"]?.ToString() ?? citation?.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
                    var page = citation?["page"] is { } p ? $", page {p}" : "";
                    md.Append(CultureInfo.InvariantCulture, $"{n++}. {OneLine(name ?? "")}{page}").AppendLine();
                }
            }
        }
        return md.ToString();
    }

    private static string RoleHeading(string role) => role switch
    {
        "user" => "User",
        "assistant" => "Assistant",
        "system" => "System",
        "tool" => "Tool",
        _ => role,
    };

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
