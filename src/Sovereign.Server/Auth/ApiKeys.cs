using System.Security.Cryptography;
using System.Text;

namespace Sovereign.Server.Auth;

/// <summary>The scopes a key can carry. <see cref="Admin"/> includes every other scope.</summary>
public static class ApiKeyScopes
{
    /// <summary>Manages keys and everything under <c>/admin</c>; has every other scope too.</summary>
    public const string Admin = "admin";

    /// <summary>Calls the model APIs under <c>/v1</c>.</summary>
    public const string Inference = "inference";

    /// <summary>Reads this node's model store as a mirror (<c>/v2/…</c>, read-only), so other nodes can pull from it.</summary>
    public const string Mirror = "mirror";

    /// <summary>Reads knowledge bases: <c>GET /v1/knowledge…</c> and searches.</summary>
    public const string KnowledgeRead = "knowledge.read";

    /// <summary>Changes knowledge bases: every other method under <c>/v1/knowledge</c>.</summary>
    public const string KnowledgeWrite = "knowledge.write";

    public static readonly IReadOnlyList<string> All = [Admin, Inference, KnowledgeRead, KnowledgeWrite, Mirror];

    public static bool IsKnown(string scope) => scope is Admin or Inference or Mirror or KnowledgeRead or KnowledgeWrite;

    /// <summary>Splits a space-separated scope list ("inference knowledge.read"); duplicates dropped, order kept.</summary>
    public static IReadOnlyList<string> Parse(string scopes) => [.. scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal)];

    /// <summary>Whether a key with <paramref name="granted"/> may act with <paramref name="scope"/>: admin covers every scope.</summary>
    public static bool Covers(IEnumerable<string> granted, string scope) => granted.Contains(scope) || granted.Contains(Admin);
}

/// <summary>Tenant ids every installation has. Others are created through <c>/admin/tenants</c>.</summary>
public static class Tenants
{
    public const string Default = "default";
}

/// <summary>
/// What is stored of one API key: never the key itself, only its SHA-256 and a short prefix to recognise it by.
/// Immutable.
/// </summary>
public sealed record ApiKeyInfo(
    string Id,
    string TenantId,
    string Name,
    string Prefix,
    IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? LastUsedAt)
{
    /// <summary>The app the key is restricted to, if any (usage is recorded against it).</summary>
    public string? AppId { get; init; }

    /// <summary>The user or service account the key acts as, if any.</summary>
    public string? UserId { get; init; }

    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } e && e <= now;

    public bool IsActive(DateTimeOffset now) => RevokedAt is null && !IsExpired(now);

    public bool HasScope(string scope) => ApiKeyScopes.Covers(Scopes, scope);
}

/// <summary>What a new key should be. <paramref name="Scope"/> is one scope or several separated by spaces.</summary>
public sealed record NewApiKey(string Name, string Scope, string TenantId = Tenants.Default, DateTimeOffset? ExpiresAt = null)
{
    /// <summary>Restricts the key to one app (optional).</summary>
    public string? AppId { get; init; }

    /// <summary>The user or service account the key acts as (optional).</summary>
    public string? UserId { get; init; }
}

/// <summary>A key just created: <see cref="Key"/> is the only time the plain key exists outside its owner.</summary>
public sealed record CreatedApiKey(ApiKeyInfo Info, string Key);

/// <summary>Making, hashing and recognising keys. Stateless; thread-safe.</summary>
public static class ApiKeyFormat
{
    /// <summary>Every key starts with this, so secret scanners and people can recognise one.</summary>
    public const string KeyPrefix = "sov-";

    /// <summary>43 base62 characters carry 256 random bits (43 × log2 62 ≈ 256.0).</summary>
    public const int RandomLength = 43;

    /// <summary>How many leading characters are kept for display ("sov-" and 8 more).</summary>
    public const int DisplayPrefixLength = 12;

    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>A new key: <c>sov-</c> and 43 characters from a cryptographic RNG.</summary>
    public static string NewKey() => KeyPrefix + RandomNumberGenerator.GetString(Base62, RandomLength);

    /// <summary>A new key id, e.g. <c>key_3kT9…</c>; not secret.</summary>
    public static string NewId() => "key_" + RandomNumberGenerator.GetString(Base62, 16);

    /// <summary>
    /// SHA-256 as lowercase hex. Keys are 256-bit random values, so a fast unsalted hash is the right choice:
    /// nothing can be guessed, and lookups by hash stay one index probe.
    /// </summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>
    /// What is kept to recognise a key by: 12 characters of a generated key (47 of its 256 random bits), but at most a
    /// quarter (and 8 characters) of a key given from outside, which may be as short as 16 characters.
    /// </summary>
    public static string DisplayPrefix(string key) =>
        IsGenerated(key) ? key[..DisplayPrefixLength] : key[..Math.Min(8, key.Length / 4)];

    /// <summary>Whether the key has the shape of one made by <see cref="NewKey"/>.</summary>
    public static bool IsGenerated(string key) =>
        key.Length == KeyPrefix.Length + RandomLength && key.StartsWith(KeyPrefix, StringComparison.Ordinal) && !key.AsSpan(KeyPrefix.Length).ContainsAnyExcept(Base62Chars);

    private static readonly System.Buffers.SearchValues<char> Base62Chars = System.Buffers.SearchValues.Create(Base62);

    /// <summary>A form safe to show in an error or a log line: the first 8 and last 3 characters.</summary>
    public static string Mask(string key) => key.Length <= 14 ? "***" : $"{key[..8]}***{key[^3..]}";
}
