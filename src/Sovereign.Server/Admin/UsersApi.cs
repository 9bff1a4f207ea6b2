using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Server.Auth;
using Sovereign.Server.Tenancy;

namespace Sovereign.Server.Admin;

/// <summary>
/// Users and service accounts of the caller's tenant: <c>POST /admin/users</c>
/// <c>{"username","display_name","role","password","kind":"person"|"service"}</c>, <c>GET /admin/users</c>,
/// <c>GET|PATCH|DELETE /admin/users/{id}</c> (PATCH: role, password; DELETE disables). A service account has no
/// password and acts through keys made for it (<c>POST /admin/keys</c> with <c>user_id</c>). Another tenant's user is
/// a 404. Only an owner (or an admin key) may make someone an owner.
/// </summary>
internal static class UsersApi
{
    public const int MinPasswordLength = 10;
    public const int MaxNameLength = 100;

    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/admin/users");
        users.MapPost("", CreateAsync).WithName("CreateUser");
        users.MapGet("", ListAsync).WithName("ListUsers");
        users.MapGet("/{id}", GetAsync).WithName("GetUser");
        users.MapPatch("/{id}", UpdateAsync).WithName("UpdateUser");
        users.MapDelete("/{id}", DisableAsync).WithName("DisableUser");
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, IUserStore store, IAuditLog audit)
    {
        var principal = context.GetRequiredApiPrincipal();
        var body = await JsonBody.ReadAsync(context.Request, TenancyJsonContext.Default.UserRequest);
        var problems = new OpenAi.RequestProblems();
        var username = body.Username?.Trim();
        if (string.IsNullOrEmpty(username)) problems.Missing("username");
        else if (username.Length > MaxNameLength || username.Any(char.IsWhiteSpace))
            problems.Add("username", $"username must be at most {MaxNameLength} characters without spaces, got '{username}'.", "invalid_value");
        var kind = body.Kind ?? UserKinds.Person;
        if (kind is not (UserKinds.Person or UserKinds.Service))
            problems.Add("kind", $"Invalid value for 'kind': '{kind}'. Supported values are: 'person' and 'service'.", "invalid_value");
        var role = body.Role ?? Roles.Member;
        CheckRole(principal, role, problems);
        if (kind == UserKinds.Service && body.Password is not null)
            problems.Add("password", "A service account has no password; it acts through API keys.", "invalid_value");
        CheckPassword(body.Password, problems);
        problems.ThrowIfAny();

        var user = await store.CreateAsync(new NewUser(principal.TenantId, username!, string.IsNullOrWhiteSpace(body.DisplayName) ? username! : body.DisplayName.Trim(),
            role, kind, body.Password), context.RequestAborted);
        await audit.AppendAsync(new AuditEvent(AuditActions.UserCreated, user.Id, $"{user.Kind} '{user.Username}' as {user.Role}"), context.RequestAborted);
        return TypedResults.Json(UserObject.From(user), TenancyJsonContext.Default.UserObject, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpContext context, IUserStore store)
    {
        var users = await store.ListAsync(context.RequestAborted);
        return TypedResults.Json(new UserList("list", [.. users.Select(UserObject.From)]), TenancyJsonContext.Default.UserList);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, IUserStore store) =>
        TypedResults.Json(UserObject.From(await FindAsync(store, id, context)), TenancyJsonContext.Default.UserObject);

    private static async Task<IResult> UpdateAsync(string id, HttpContext context, IUserStore store, IAuditLog audit)
    {
        var principal = context.GetRequiredApiPrincipal();
        var body = await JsonBody.ReadAsync(context.Request, TenancyJsonContext.Default.UserRequest);
        var user = await FindAsync(store, id, context);
        var problems = new OpenAi.RequestProblems();
        if (body.Role is { } role) CheckRole(principal, role, problems);
        if (body.Password is not null && user.IsService) problems.Add("password", "A service account has no password; it acts through API keys.", "invalid_value");
        CheckPassword(body.Password, problems);
        if (user.Role == Roles.Owner && body.Role is { } r && r != Roles.Owner && !CanGrantOwner(principal))
            problems.Add("role", "Only an owner may change an owner's role.", "invalid_value");
        problems.ThrowIfAny();

        if (body.Role is { } newRole && newRole != user.Role)
        {
            user = await store.SetRoleAsync(id, newRole, context.RequestAborted) ?? user;
            await audit.AppendAsync(new AuditEvent(AuditActions.UserRoleChanged, id, $"role {newRole}"), context.RequestAborted);
        }
        if (body.Password is { } password)
        {
            user = await store.SetPasswordAsync(id, password, context.RequestAborted) ?? user;
            await audit.AppendAsync(new AuditEvent(AuditActions.UserPasswordChanged, id), context.RequestAborted);
        }
        return TypedResults.Json(UserObject.From(user), TenancyJsonContext.Default.UserObject);
    }

    private static async Task<IResult> DisableAsync(string id, HttpContext context, IUserStore store, IAuditLog audit)
    {
        await FindAsync(store, id, context);
        var user = await store.DisableAsync(id, context.RequestAborted) ?? throw NotFound(id);
        await audit.AppendAsync(new AuditEvent(AuditActions.UserDisabled, id), context.RequestAborted);
        return TypedResults.Json(UserObject.From(user), TenancyJsonContext.Default.UserObject);
    }

    // Sessions of owners and admins both carry the admin scope; their role tells them apart. An admin key may.
    private static bool CanGrantOwner(ApiPrincipal principal) => !principal.IsSession || principal.Role == Roles.Owner;

    private static void CheckRole(ApiPrincipal principal, string role, OpenAi.RequestProblems problems)
    {
        if (!Roles.IsKnown(role))
            problems.Add("role", $"Invalid value for 'role': '{role}'. Supported values are: {string.Join(", ", Roles.All.Select(r => $"'{r}'"))}.", "invalid_value");
        else if (role == Roles.Owner && !CanGrantOwner(principal))
            problems.Add("role", "Only an owner may make someone an owner.", "invalid_value");
    }

    private static void CheckPassword(string? password, OpenAi.RequestProblems problems)
    {
        if (password is not null && password.Length < MinPasswordLength)
            problems.Add("password", $"password must be at least {MinPasswordLength} characters.", "invalid_value");
    }

    private static async Task<UserInfo> FindAsync(IUserStore store, string id, HttpContext context) =>
        await store.FindAsync(id, context.RequestAborted) ?? throw NotFound(id);

    private static SovereignException NotFound(string id) => SovereignException.NotFound($"No user with id '{id}'.", "id", "user_not_found");
}

internal sealed class UserRequest
{
    public string? Username { get; set; }
    public string? DisplayName { get; set; }
    public string? Role { get; set; }
    public string? Kind { get; set; }
    public string? Password { get; set; }
}

internal sealed record UserObject(string Object, string Id, string TenantId, string Username, string DisplayName, string Role, string Kind, long CreatedAt,
    long? DisabledAt, long? LockedUntil, bool HasPassword)
{
    public static UserObject From(UserInfo u) => new("user", u.Id, u.TenantId, u.Username, u.DisplayName, u.Role, u.Kind, u.CreatedAt.ToUnixTimeSeconds(),
        u.DisabledAt?.ToUnixTimeSeconds(), u.LockedUntil?.ToUnixTimeSeconds(), u.HasPassword);
}

internal sealed record UserList(string Object, IReadOnlyList<UserObject> Data);
