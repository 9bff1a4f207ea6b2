namespace Sovereign.Web.Access;

/// <summary>A user or service account as the users page shows it: never its password. Immutable.</summary>
public sealed record WebAccount(string Id, string Username, string DisplayName, string Role, string Kind, DateTimeOffset CreatedAt,
    DateTimeOffset? DisabledAt);

/// <summary>
/// Users of the signed-in administrator's tenant, over the same store and rules as <c>/admin/users</c>; every change is
/// written to the audit log as done by <c>actor</c>. A user of another tenant looks absent. Invalid input throws
/// <c>SovereignException</c> naming every problem. Thread-safe.
/// </summary>
public interface IUserAdministration
{
    /// <summary>The roles this interface may give (making an owner stays with the API), least powerful first.</summary>
    IReadOnlyList<string> Roles { get; }

    int MinPasswordLength { get; }

    int MaxNameLength { get; }

    Task<IReadOnlyList<WebAccount>> ListAsync(string tenantId, CancellationToken cancellationToken = default);

    Task<WebAccount> CreateAsync(WebUser actor, string username, string? displayName, string role, string password,
        CancellationToken cancellationToken = default);

    /// <summary>Gives the user one of <see cref="Roles"/>; an owner's role stays with the API. Null when the tenant has no such user.</summary>
    Task<WebAccount?> SetRoleAsync(WebUser actor, string id, string role, CancellationToken cancellationToken = default);

    /// <summary>Sets the user's password (at least <see cref="MinPasswordLength"/> characters). Null when the tenant has no such user.</summary>
    Task<WebAccount?> SetPasswordAsync(WebUser actor, string id, string password, CancellationToken cancellationToken = default);

    /// <summary>Disables (idempotently) so the user can no longer sign in; null when the tenant has no such user.</summary>
    Task<WebAccount?> DisableAsync(WebUser actor, string id, CancellationToken cancellationToken = default);
}
