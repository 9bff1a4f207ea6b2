using Sovereign.Server.Auth;

namespace Sovereign.Server.Tenancy;

/// <summary>
/// A person's or service account's role in its tenant, and what it may do. Owners and admins administer the tenant;
/// developers build (inference, knowledge read and write); members use (inference, knowledge read).
/// </summary>
public static class Roles
{
    public const string Owner = "owner";
    public const string Admin = "admin";
    public const string Developer = "developer";
    public const string Member = "member";

    public static readonly IReadOnlyList<string> All = [Owner, Admin, Developer, Member];

    public static bool IsKnown(string role) => role is Owner or Admin or Developer or Member;

    /// <summary>The API scopes a signed-in user of this role acts with.</summary>
    public static IReadOnlyList<string> Scopes(string role) => role switch
    {
        Owner or Admin => [ApiKeyScopes.Admin],
        Developer => [ApiKeyScopes.Inference, ApiKeyScopes.KnowledgeRead, ApiKeyScopes.KnowledgeWrite],
        _ => [ApiKeyScopes.Inference, ApiKeyScopes.KnowledgeRead],
    };
}

/// <summary>Whether a user is a person (may sign in) or a service account (acts only through its keys).</summary>
public static class UserKinds
{
    public const string Person = "person";
    public const string Service = "service";
}

/// <summary>One user or service account as stored, without its password hash. Immutable.</summary>
public sealed record UserInfo(
    string Id,
    string TenantId,
    string Username,
    string DisplayName,
    string Role,
    string Kind,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DisabledAt,
    DateTimeOffset? LockedUntil,
    bool HasPassword)
{
    public bool IsService => Kind == UserKinds.Service;
}

/// <summary>A tenant (organisation). <see cref="Weight"/> is its share of the engine under load. Immutable.</summary>
public sealed record TenantInfo(string Id, string Name, int Weight, DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt);

/// <summary>What a new user or service account should be.</summary>
public sealed record NewUser(string TenantId, string Username, string DisplayName, string Role, string Kind, string? Password = null);

/// <summary>The result of a sign-in attempt.</summary>
public enum SignInOutcome
{
    Success,
    /// <summary>Unknown user, wrong password, a service account or a disabled user: the caller cannot tell which.</summary>
    Invalid,
    Locked,
}

public sealed record SignInResult(SignInOutcome Outcome, UserInfo? User, DateTimeOffset? LockedUntil = null);

/// <summary>Tenants. Thread-safe; safe across processes sharing a database.</summary>
public interface ITenantStore
{
    Task<TenantInfo> CreateAsync(string id, string name, int weight, CancellationToken cancellationToken = default);
    Task<TenantInfo?> FindAsync(string id, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<TenantInfo>> ListAsync(CancellationToken cancellationToken = default);
    Task<TenantInfo?> SetWeightAsync(string id, int weight, CancellationToken cancellationToken = default);
}

/// <summary>
/// Users and service accounts. Reads and changes by id act within <see cref="Sovereign.Core.Tenancy.TenantScope"/>'s tenant
/// (another tenant's user looks absent); sign-in and bootstrap look across tenants by username. Thread-safe.
/// </summary>
public interface IUserStore
{
    /// <summary>Creates a user; 409 when the username is taken (in any tenant).</summary>
    Task<UserInfo> CreateAsync(NewUser user, CancellationToken cancellationToken = default);
    Task<UserInfo?> FindAsync(string id, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<UserInfo>> ListAsync(CancellationToken cancellationToken = default);
    Task<UserInfo?> SetRoleAsync(string id, string role, CancellationToken cancellationToken = default);
    Task<UserInfo?> SetPasswordAsync(string id, string password, CancellationToken cancellationToken = default);
    Task<UserInfo?> DisableAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Checks a password, counting failures and locking the account after too many (any tenant).</summary>
    Task<SignInResult> SignInAsync(string username, string password, CancellationToken cancellationToken = default);

    /// <summary>A user by id in any tenant, for re-validating a session cookie.</summary>
    Task<UserInfo?> FindAnyTenantAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>The user an external identity provider's subject maps to, created as a member of <paramref name="tenantId"/> the first time.</summary>
    Task<UserInfo> FindOrCreateExternalAsync(string issuer, string subject, string username, string displayName, string tenantId, CancellationToken cancellationToken = default);

    /// <summary>How many people (not service accounts) the tenant has.</summary>
    Task<int> CountPeopleAsync(string tenantId, CancellationToken cancellationToken = default);
}
