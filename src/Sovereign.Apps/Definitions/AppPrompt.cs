using System.Text;

namespace Sovereign.Apps.Definitions;

/// <summary>Turns an app's instructions and guardrails into the system prompt the model receives. Stateless.</summary>
public static class AppPrompt
{
    /// <summary>
    /// The instructions in <paramref name="language"/> (the primary language when null or untranslated), then the
    /// declined topics and the words to decline with, then the languages to answer in.
    /// </summary>
    public static string SystemPrompt(AppDefinition app, string? language = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        var texts = app.TextsFor(language);
        var prompt = new StringBuilder(texts.Instructions!.Trim());
        if (app.Guardrails is { DeclinedTopics.Count: > 0 } guardrails)
        {
            prompt.Append("\n\nDecline, politely and without answering, any request about:");
            foreach (var topic in guardrails.DeclinedTopics) prompt.Append("\n- ").Append(topic);
            if (texts.DeclineMessage is { Length: > 0 } decline) prompt.Append("\nWhen you decline, say: \"").Append(decline).Append('"');
        }
        if (app.Languages.Count > 1)
            prompt.Append("\n\nAnswer in the language the user writes in (").Append(string.Join(", ", app.Languages)).Append(").");
        return prompt.ToString();
    }
}
