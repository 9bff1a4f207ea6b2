using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Server.Admin;
using Sovereign.Server.OpenAi;
using Sovereign.Server.Tenancy;
using Sovereign.Web.Access;

namespace Sovereign.Server.WebUi;

/// <summary>
/// The users page over the user store, with the limits of <c>/admin/users</c> and its audit records (the actor is the
/// signed-in key or user). People only: service accounts and owners are made through the API. Thread-safe.
/// </summary>
internal sealed class WebUserAdministration(IUserStore users, IAuditLog audit) : IUserAdministration
{
    public IReadOnlyList<string> Roles { get; } = [Tenancy.Roles.Member, Tenancy.Roles.Developer, Tenancy.Roles.Admin];

    public int MinPasswordLength => UsersApi.MinPasswordLength;

    public int MaxNameLength => UsersApi.MaxNameLength;

    public async Task<IReadOnlyList<WebAccount>> ListAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(tenantId)) return [.. (await users.ListAsync(cancellationToken)).Select(ToWeb)];
    }

    public async Task<WebAccount> CreateAsync(WebUser actor, string username, string? displayName, string role, string password,
        CancellationToken cancellationToken = default)
    {
        username = username.Trim();
        var problems = new RequestProblems();
        if (username.Length == 0) problems.Missing("username");
        else if (username.Length > MaxNameLength || username.Any(char.IsWhiteSpace))
            problems.Add("username", $"username must be at most {MaxNameLength} characters without spaces, got '{username}'.", "invalid_value");
        if (!Roles.Contains(role))
            problems.Add("role", $"Invalid value for 'role': '{role}'. Supported values are: {string.Join(", ", Roles.Select(r => $"'{r}'"))}.", "invalid_value");
        if (password.Length < MinPasswordLength)
            problems.Add("password", $"password must be at least {MinPasswordLength} characters.", "invalid_value");
        problems.ThrowIfAny();

        using (TenantScope.Enter(actor.TenantId))
        {
            var user = await users.CreateAsync(new NewUser(actor.TenantId, username, string.IsNullOrWhiteSpace(displayName) ? username : displayName.Trim(),
                role, UserKinds.Person, password), cancellationToken);
            await audit.AppendAsync(new AuditEvent(AuditActions.UserCreated, user.Id, $"{user.Kind} '{user.Username}' as {user.Role}") { Actor = Actor(actor) },
                CancellationToken.None);
            return ToWeb(user);
        }
    }

    public async Task<WebAccount?> SetRoleAsync(WebUser actor, string id, string role, CancellationToken cancellationToken = default)
    {
        if (!Roles.Contains(role))
            throw SovereignException.Invalid($"Invalid value for 'role': '{role}'. Supported values are: {string.Join(", ", Roles.Select(r => $"'{r}'"))}.", "role", "invalid_value");
        using (TenantScope.Enter(actor.TenantId))
        {
            if (await users.FindAsync(id, cancellationToken) is not { } found) return null;
            // Making or unmaking an owner stays with the API, where only an owner may do it.
            if (found.Role == Tenancy.Roles.Owner) throw SovereignException.Invalid("Only an owner may change an owner's role.", "role", "invalid_value");
            if (found.Role == role) return ToWeb(found);
            var user = await users.SetRoleAsync(id, role, cancellationToken);
            if (user is null) return null;
            await audit.AppendAsync(new AuditEvent(AuditActions.UserRoleChanged, id, $"role {role}") { Actor = Actor(actor) }, CancellationToken.None);
            return ToWeb(user);
        }
    }

    public async Task<WebAccount?> SetPasswordAsync(WebUser actor, string id, string password, CancellationToken cancellationToken = default)
    {
        if (password.Length < MinPasswordLength)
            throw SovereignException.Invalid($"password must be at least {MinPasswordLength} characters.", "password", "invalid_value");
        using (TenantScope.Enter(actor.TenantId))
        {
            if (await users.FindAsync(id, cancellationToken) is null) return null;
            var user = await users.SetPasswordAsync(id, password, cancellationToken);
            if (user is null) return null;
            await audit.AppendAsync(new AuditEvent(AuditActions.UserPasswordChanged, id) { Actor = Actor(actor) }, CancellationToken.None);
            return ToWeb(user);
        }
    }

    public async Task<WebAccount?> DisableAsync(WebUser actor, string id, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(actor.TenantId))
        {
            if (await users.FindAsync(id, cancellationToken) is null) return null;
            var user = await users.DisableAsync(id, cancellationToken);
            if (user is null) return null;
            await audit.AppendAsync(new AuditEvent(AuditActions.UserDisabled, id) { Actor = Actor(actor) }, CancellationToken.None);
            return ToWeb(user);
        }
    }

    /// <summary>Who the audit log names, as the API's principal would (<c>key:</c> or <c>user:</c>).</summary>
    private static string Actor(WebUser user) => user.Method == WebSignInMethods.ApiKey ? $"key:{user.Id}" : $"user:{user.Id}";

    private static WebAccount ToWeb(UserInfo u) => new(u.Id, u.Username, u.DisplayName, u.Role, u.Kind, u.CreatedAt, u.DisabledAt);
}
