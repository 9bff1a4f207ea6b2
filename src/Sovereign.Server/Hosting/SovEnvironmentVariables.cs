using System.Collections;

namespace Sovereign.Server.Hosting;

/// <summary>
/// Maps <c>SOV_*</c> environment variables onto the "Sovereign" configuration section: <c>__</c> separates
/// sections and single underscores are dropped, so SOV_HOME → Sovereign:Home, SOV_ADMIN_KEY → Sovereign:AdminKey
/// and SOV_ENGINE__CONTEXT_SIZE → Sovereign:Engine:ContextSize (configuration keys ignore case). A list setting given
/// as one comma-separated variable (SOV_ALLOWED_HOSTS=a,b) becomes indexed entries, because the binder would otherwise
/// read it as one host named "a,b" and silently allow neither.
/// </summary>
internal static class SovEnvironmentVariables
{
    public const string Prefix = "SOV_";

    /// <summary>Settings that bind to lists (compared after underscores are dropped).</summary>
    private static readonly HashSet<string> ListSettings = new(StringComparer.OrdinalIgnoreCase) { "ALLOWEDHOSTS", "MIRRORS" };

    public static Dictionary<string, string?> Map(IDictionary environment)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry entry in environment)
        {
            if (entry.Key is not string name || !name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)) continue;
            var segments = name[Prefix.Length..]
                .Split("__")
                .Select(s => s.Replace("_", "", StringComparison.Ordinal))
                .ToArray();
            if (segments.Any(s => s.Length == 0)) continue;
            var key = $"{Sovereign.Core.Options.SovereignOptions.Section}:{string.Join(':', segments)}";
            if (segments.Length == 1 && ListSettings.Contains(segments[0]) && entry.Value is string list)
            {
                var items = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                for (var i = 0; i < items.Length; i++) settings[$"{key}:{i}"] = items[i];
                continue;
            }
            settings[key] = entry.Value as string;
        }
        return settings;
    }
}
