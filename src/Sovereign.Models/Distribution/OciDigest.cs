using System.Text.RegularExpressions;
using Sovereign.Core.Errors;

namespace Sovereign.Models.Distribution;

/// <summary>
/// Content digests as the OCI distribution API and the store spell them: exactly <c>sha256:</c> and 64 lower-case hex
/// digits. Anything else (upper case, other algorithms, separators, <c>..</c>) is refused, so a digest from a URL, a
/// mirror's manifest or a bundle can never name a path outside the blobs folder. Stateless; thread-safe.
/// </summary>
public static partial class OciDigest
{
    public const string Prefix = "sha256:";

    public static bool IsValid(string? digest) => digest is not null && Pattern().IsMatch(digest);

    /// <summary>The digest itself, or a 400 (<c>invalid_digest</c>) naming what was wrong with it.</summary>
    public static string Require(string? digest, string what = "digest") =>
        IsValid(digest)
            ? digest!
            : throw SovereignException.Invalid(
                $"{what} '{Shorten(digest)}' is not a valid digest: expected sha256: and 64 lower-case hex digits.", "digest", "invalid_digest");

    /// <summary>The 64 hex digits.</summary>
    public static string Hex(string digest) => Require(digest)[Prefix.Length..];

    /// <summary>The 12 hex digits Ollama shows in its progress lines ("pulling 270cba1bd510").</summary>
    public static string Short(string digest) => Hex(digest)[..12];

    public static string FromHex(string hex) => Require(Prefix + hex);

    /// <summary>The blob's file name in a store or a bundle: <c>sha256-&lt;hex&gt;</c>.</summary>
    public static string FileName(string digest) => "sha256-" + Hex(digest);

    /// <summary>Untrusted text cut to a length safe to put in a message.</summary>
    internal static string Shorten(string? text) => text is null ? "(none)" : text.Length <= 80 ? text : text[..80] + "…";

    [GeneratedRegex("^sha256:[0-9a-f]{64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
