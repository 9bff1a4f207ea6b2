using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Server.Admin;
using Sovereign.Server.Auth;
using Sovereign.Web.Access;

namespace Sovereign.Server.WebUi;

/// <summary>
/// The web interface's sign-in and key administration over the API's own key store: a key that the API refuses is
/// refused here too, and the same limits as <c>POST /admin/keys</c> apply. Thread-safe (the store is).
/// </summary>
internal sealed class WebKeyAccess(IApiKeyStore store, TimeProvider time, ILogger<WebKeyAccess> logger) : IWebSignIn, IKeyAdministration
{
    public IReadOnlyList<string> Scopes { get; } = [ApiKeyScopes.Inference, ApiKeyScopes.KnowledgeRead, ApiKeyScopes.KnowledgeWrite, ApiKeyScopes.Mirror, ApiKeyScopes.Admin];

    public int MaxNameLength => KeysApi.MaxNameLength;

    public int MaxExpiresInDays => KeysApi.MaxExpiresInDays;

    public async Task<WebUser?> SignInWithKeyAsync(string key, CancellationToken cancellationToken = default)
    {
        var info = await store.FindByKeyAsync(key, cancellationToken);
        if (info is null || !info.IsActive(time.GetUtcNow()))
        {
            logger.WebSignInRefused(info?.Prefix ?? ApiKeyFormat.Mask(key));
            return null;
        }
        await store.MarkUsedAsync(info.Id, time.GetUtcNow(), cancellationToken);
        return new WebUser(info.Id, info.Name, info.TenantId, info.Scopes, WebSignInMethods.ApiKey);
    }

    public async Task<bool> IsActiveAsync(WebUser user, CancellationToken cancellationToken = default)
    {
        if (user.Method != WebSignInMethods.ApiKey) return false;
        var keys = await store.ListAsync(user.TenantId, cancellationToken);
        return keys.FirstOrDefault(k => k.Id == user.Id) is { } key && key.IsActive(time.GetUtcNow());
    }

    public async Task<IReadOnlyList<WebApiKey>> ListAsync(string tenantId, CancellationToken cancellationToken = default) =>
        [.. (await store.ListAsync(tenantId, cancellationToken)).Select(ToWeb)];

    public async Task<CreatedWebApiKey> CreateAsync(string tenantId, string name, string scope, int? expiresInDays, string createdBy,
        CancellationToken cancellationToken = default)
    {
        name = name.Trim();
        if (name.Length == 0 || name.Length > MaxNameLength)
            throw new SovereignException(ErrorKind.InvalidRequest, $"name must be 1 to {MaxNameLength} characters, got {name.Length}.", "name", "invalid_value");
        if (!ApiKeyScopes.IsKnown(scope))
            throw new SovereignException(ErrorKind.InvalidRequest, $"Invalid value for 'scope': '{scope}'.", "scope", "invalid_value");
        if (expiresInDays is { } d && (d < 1 || d > MaxExpiresInDays))
            throw new SovereignException(ErrorKind.InvalidRequest, $"expires_in_days must be between 1 and {MaxExpiresInDays}, got {d}.", "expires_in_days", "invalid_value");

        var expires = expiresInDays is { } days ? time.GetUtcNow().AddDays(days) : (DateTimeOffset?)null;
        var created = await store.CreateAsync(new NewApiKey(name, scope, tenantId, expires), cancellationToken);
        logger.ApiKeyCreated(created.Info.Id, created.Info.Prefix, scope, createdBy);
        return new CreatedWebApiKey(ToWeb(created.Info), created.Key);
    }

    public async Task<WebApiKey?> RevokeAsync(string tenantId, string id, string revokedBy, CancellationToken cancellationToken = default)
    {
        var revoked = await store.RevokeAsync(tenantId, id, cancellationToken);
        if (revoked is not null) logger.ApiKeyRevoked(revoked.Id, revokedBy);
        return revoked is null ? null : ToWeb(revoked);
    }

    private static WebApiKey ToWeb(ApiKeyInfo k) =>
        new(k.Id, k.Name, k.Prefix, string.Join(' ', k.Scopes), k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.LastUsedAt);
}
