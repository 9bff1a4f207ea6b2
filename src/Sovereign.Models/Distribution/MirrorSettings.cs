using Sovereign.Core.Errors;
using Sovereign.Core.Options;

namespace Sovereign.Models.Distribution;

/// <summary>Where <see cref="FileModelPuller"/> may pull from, and with what key. Immutable.</summary>
public sealed record MirrorSettings
{
    /// <summary>Mirror base URLs, tried in order; each ends with '/'.</summary>
    public IReadOnlyList<Uri> Mirrors { get; init; } = [];

    /// <summary>Sent as <c>Authorization: Bearer …</c> to the mirrors (never to a host a mirror redirects to).</summary>
    public string? Key { get; init; }

    /// <summary>Hosts allowed besides the mirrors' own (Sovereign:AllowedHosts), e.g. where a registry keeps its blobs.</summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>How long a mirror may take to answer a request, or to send the next bytes of a blob. Default 60 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>From Sovereign:Mirrors (each entry may itself be comma-separated), Sovereign:MirrorKey and Sovereign:AllowedHosts.</summary>
    public static MirrorSettings From(SovereignOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new MirrorSettings
        {
            Mirrors = ParseList(options.Mirrors, "Sovereign:Mirrors"),
            Key = string.IsNullOrWhiteSpace(options.MirrorKey) ? null : options.MirrorKey.Trim(),
            AllowedHosts = [.. options.AllowedHosts.Where(h => !string.IsNullOrWhiteSpace(h))],
        };
    }

    /// <summary>
    /// Mirror URLs from settings: entries are split at commas (SOV_MIRRORS=http://a:8080,http://b:8080), blanks are
    /// skipped, duplicates dropped. A 400 naming <paramref name="setting"/> for one that is not an http(s) base URL.
    /// </summary>
    public static IReadOnlyList<Uri> ParseList(IEnumerable<string?> values, string setting = "SOV_MIRRORS")
    {
        ArgumentNullException.ThrowIfNull(values);
        var mirrors = new List<Uri>();
        foreach (var value in values)
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!TryParse(part, out var uri, out var problem))
                    throw SovereignException.Invalid($"{setting}: '{part}' is not a usable mirror: {problem}", setting, "invalid_mirror");
                if (!mirrors.Contains(uri)) mirrors.Add(uri);
            }
        }
        return mirrors;
    }

    /// <summary>An absolute http or https URL without credentials, query or fragment; normalised to end with '/'.</summary>
    public static bool TryParse(string? value, out Uri mirror, out string problem)
    {
        mirror = null!;
        if (!Uri.TryCreate(value?.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            problem = "expected an http:// or https:// base URL such as http://node-a:8080.";
            return false;
        }
        if (uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            problem = "a mirror URL may not carry credentials, a query or a fragment (give the key as SOV_MIRROR_KEY).";
            return false;
        }
        var text = uri.GetLeftPart(UriPartial.Path);
        mirror = new Uri(text.EndsWith('/') ? text : text + "/");
        problem = "";
        return true;
    }
}
