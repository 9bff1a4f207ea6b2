namespace Sovereign.Server.Auth;

/// <summary>
/// Where API keys live (SQLite by default). Stores hashes only; the plain key is returned once, on creation.
/// Implementations are thread-safe and safe across processes sharing a data folder.
/// </summary>
public interface IApiKeyStore
{
    /// <summary>Creates a key with a fresh random secret.</summary>
    Task<CreatedApiKey> CreateAsync(NewApiKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates a key only when the tenant has no active key with <see cref="NewApiKey.Scope"/>; null when it has one.
    /// Check and insert are one transaction, so two servers starting at once make one key.
    /// </summary>
    Task<CreatedApiKey?> CreateIfNoneActiveAsync(NewApiKey key, CancellationToken cancellationToken = default);

    /// <summary>Stores a key given from outside (Sovereign:AdminKey) unless its hash is already there; returns what is stored.</summary>
    Task<ApiKeyInfo> EnsureAsync(string plainKey, NewApiKey key, CancellationToken cancellationToken = default);

    /// <summary>The key with this secret, revoked or expired ones included; null when unknown.</summary>
    Task<ApiKeyInfo?> FindByKeyAsync(string plainKey, CancellationToken cancellationToken = default);

    /// <summary>A tenant's keys, oldest first.</summary>
    Task<IReadOnlyList<ApiKeyInfo>> ListAsync(string tenantId, CancellationToken cancellationToken = default);

    /// <summary>Revokes (idempotently) and returns the key; null when the tenant has no key with this id.</summary>
    Task<ApiKeyInfo?> RevokeAsync(string tenantId, string id, CancellationToken cancellationToken = default);

    /// <summary>Records a use of the key.</summary>
    Task MarkUsedAsync(string id, DateTimeOffset when, CancellationToken cancellationToken = default);
}
