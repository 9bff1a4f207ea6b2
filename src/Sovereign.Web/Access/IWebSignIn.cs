namespace Sovereign.Web.Access;

/// <summary>
/// How the web interface checks who someone is. The server implements it over its key store, so the interface signs
/// in with exactly the keys the API accepts. Implementations are thread-safe.
/// </summary>
public interface IWebSignIn
{
    /// <summary>The user for an API key; null when the key is unknown, revoked or expired.</summary>
    Task<WebUser?> SignInWithKeyAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether a signed-in user still stands (the key not revoked or expired since); checked on every request that
    /// carries the cookie, so revoking a key also signs its browser sessions out.
    /// </summary>
    Task<bool> IsActiveAsync(WebUser user, CancellationToken cancellationToken = default);
}
