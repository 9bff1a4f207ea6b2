using System.Collections.Frozen;
using Sovereign.Core.Errors;

namespace Sovereign.Models.Store;

/// <summary>
/// Chat template names that may override a model's own template: llama.cpp's built-in templates, which it selects
/// by name (llama_chat_apply_template). Immutable; thread-safe.
/// </summary>
public static class ChatTemplates
{
    public static IReadOnlySet<string> Known { get; } = new[]
    {
        "chatml", "llama2", "llama3", "mistral", "phi3", "gemma", "zephyr", "vicuna", "deepseek", "command-r",
        "falcon", "chatglm4", "monarch", "orion", "openchat", "minicpm", "granite", "exaone3",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The names in a stable order, for messages and help text.</summary>
    public static IReadOnlyList<string> KnownSorted { get; } = [.. Known.Order(StringComparer.Ordinal)];

    public static bool IsKnown(string? name) => name is not null && Known.Contains(name.Trim().ToLowerInvariant());

    /// <summary>Lower-cased known name; a 400 (<c>unknown_chat_template</c>) listing the known ones otherwise.</summary>
    public static string Normalize(string name, string param = "chat_template")
    {
        ArgumentNullException.ThrowIfNull(name);
        var normalized = name.Trim().ToLowerInvariant();
        if (!Known.Contains(normalized))
            throw SovereignException.Invalid(
                $"Unknown chat template '{name}'. Known templates: {string.Join(", ", KnownSorted)}.", param, "unknown_chat_template");
        return normalized;
    }
}
