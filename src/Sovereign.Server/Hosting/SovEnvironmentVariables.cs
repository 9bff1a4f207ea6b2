using System.Collections;

namespace Sovereign.Server.Hosting;

/// <summary>
/// Maps <c>SOV_*</c> environment variables onto the "Sovereign" configuration section: <c>__</c> separates
/// sections and single underscores are dropped, so SOV_HOME → Sovereign:Home, SOV_ADMIN_KEY → Sovereign:AdminKey
/// and SOV_ENGINE__CONTEXT_SIZE → Sovereign:Engine:ContextSize (configuration keys ignore case).
/// </summary>
internal static class SovEnvironmentVariables
{
    public const string Prefix = "SOV_";

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
            settings[$"{Sovereign.Core.Options.SovereignOptions.Section}:{string.Join(':', segments)}"] = entry.Value as string;
        }
        return settings;
    }
}
