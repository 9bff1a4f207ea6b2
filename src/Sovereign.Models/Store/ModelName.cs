using System.Text.RegularExpressions;
using Sovereign.Core.Errors;

namespace Sovereign.Models.Store;

/// <summary>A model reference <c>name[:tag]</c>, as Ollama spells them (tag defaults to <c>latest</c>). Immutable.</summary>
public sealed partial record ModelName(string Name, string Tag)
{
    public const string DefaultTag = "latest";

    public override string ToString() => $"{Name}:{Tag}";

    /// <summary>Parses and validates; a bad name is a 400 that says what is allowed.</summary>
    public static ModelName Parse(string value, string param = "model")
    {
        if (!TryParse(value, out var name))
            throw SovereignException.Invalid(
                $"'{value}' is not a valid model name: use name[:tag] with letters, digits, '.', '-', '_' and '/' (at most 128 characters).",
                param, "invalid_model_name");
        return name;
    }

    public static bool TryParse(string? value, out ModelName name)
    {
        name = null!;
        if (string.IsNullOrWhiteSpace(value) || value.Length > 128) return false;
        var colon = value.LastIndexOf(':');
        var n = colon < 0 ? value : value[..colon];
        var t = colon < 0 ? DefaultTag : value[(colon + 1)..];
        if (!NamePattern().IsMatch(n) || !TagPattern().IsMatch(t) || n.Contains("..", StringComparison.Ordinal)) return false;
        name = new ModelName(n.ToLowerInvariant(), t.ToLowerInvariant());
        return true;
    }

    /// <summary>
    /// A valid name made from a file's name: extension dropped, lower-cased, anything not allowed in a name turned
    /// into '-', cut to fit; "model" when nothing usable is left. Tag is <see cref="DefaultTag"/>.
    /// </summary>
    public static ModelName FromFileName(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var stem = Path.GetFileNameWithoutExtension(path).ToLowerInvariant();
        var cleaned = DisallowedRun().Replace(stem, "-");
        cleaned = DotRun().Replace(cleaned, ".");
        cleaned = cleaned.TrimStart('.', '-', '_');
        if (cleaned.Length > 128) cleaned = cleaned[..128];
        cleaned = cleaned.TrimEnd('.', '-', '_');
        return TryParse(cleaned, out var name) && name.Tag == DefaultTag && !cleaned.Contains(':', StringComparison.Ordinal)
            ? name
            : new ModelName("model", DefaultTag);
    }

    [GeneratedRegex("[^a-z0-9._-]+")]
    private static partial Regex DisallowedRun();

    [GeneratedRegex("[.]{2,}")]
    private static partial Regex DotRun();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*\\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\z")]
    private static partial Regex TagPattern();
}
