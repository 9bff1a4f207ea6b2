namespace Sovereign.Web.Access;

/// <summary>An API key as the web interface shows it: never the key itself. Immutable.</summary>
public sealed record WebApiKey(string Id, string Name, string Prefix, string Scope, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt)
{
    public bool IsActive(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

/// <summary>A new key and its secret, which is shown once and never again.</summary>
public sealed record CreatedWebApiKey(WebApiKey Key, string Secret);

/// <summary>
/// Key administration for the web interface, over the same store as <c>/admin/keys</c>. Every call names the
/// tenant; a key of another tenant looks absent. Invalid input throws <c>SovereignException</c> with a clear message.
/// Implementations are thread-safe.
/// </summary>
public interface IKeyAdministration
{
    /// <summary>The scopes a key may have, narrowest first.</summary>
    IReadOnlyList<string> Scopes { get; }

    int MaxNameLength { get; }

    int MaxExpiresInDays { get; }

    Task<IReadOnlyList<WebApiKey>> ListAsync(string tenantId, CancellationToken cancellationToken = default);

    Task<CreatedWebApiKey> CreateAsync(string tenantId, string name, string scope, int? expiresInDays, string createdBy,
        CancellationToken cancellationToken = default);

    /// <summary>Revokes (idempotently); null when the tenant has no such key.</summary>
    Task<WebApiKey?> RevokeAsync(string tenantId, string id, string revokedBy, CancellationToken cancellationToken = default);
}
