using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sovereign.Core.Errors;

namespace Sovereign.Web.Access;

/// <summary>
/// The users page's forms (add a user; change a role, a password; disable) as plain HTML form posts. Binding a form makes ASP.NET Core
/// demand the antiforgery token the page renders into each form, so another site cannot make an administrator's
/// browser change a user (cross-site request forgery): without the token the post is refused with 400 before anything
/// runs. Each answers by going back to the users page with what happened as a short code the page words in its
/// language (never free text from the address, which anyone could craft).
/// </summary>
public static class UserForms
{
    public const string PagePath = "/manage/users";

    /// <summary>Where the add-a-user form posts; "new" is never a user's id (ids are generated, not chosen).</summary>
    public const string CreatePath = PagePath + "/new";

    internal static void MapUserForms(this IEndpointRouteBuilder app)
    {
        app.MapPost(CreatePath, CreateAsync).RequireAuthorization(WebAuth.AdminPolicy).WithName("WebUserCreate");
        var users = app.MapGroup(PagePath + "/{id}").RequireAuthorization(WebAuth.AdminPolicy);
        users.MapPost("/role", (string id, IFormCollection form, HttpContext context, IUserAdministration admin) =>
            ChangeAsync(context, id, "role", user => admin.SetRoleAsync(user, id, form["role"].ToString(), context.RequestAborted)))
            .WithName("WebUserSetRole");
        users.MapPost("/password", (string id, IFormCollection form, HttpContext context, IUserAdministration admin) =>
            ChangeAsync(context, id, "password", user => admin.SetPasswordAsync(user, id, form["password"].ToString(), context.RequestAborted)))
            .WithName("WebUserSetPassword");
        users.MapPost("/disable", (string id, IFormCollection form, HttpContext context, IUserAdministration admin) =>
            ChangeAsync(context, id, "disabled", user => admin.DisableAsync(user, id, context.RequestAborted)))
            .WithName("WebUserDisable");
    }

    private static async Task<IResult> CreateAsync(IFormCollection form, HttpContext context, IUserAdministration admin)
    {
        var user = WebUser.From(context.User) ?? throw new SovereignException(ErrorKind.Unauthorized, "Sign in first.");
        var username = form["username"].ToString().Trim();
        var displayName = form["display_name"].ToString();
        var role = form["role"].ToString();
        var password = form["password"].ToString();
        // Every problem at once, each as a code the page shows next to its field.
        var invalid = new List<string>();
        if (username.Length == 0 || username.Length > admin.MaxNameLength || username.Any(char.IsWhiteSpace)) invalid.Add(username.Length == 0 ? "username-missing" : "username");
        if (!admin.Roles.Contains(role)) invalid.Add("role");
        if (password.Length < admin.MinPasswordLength) invalid.Add("password");
        if (invalid.Count == 0)
        {
            try
            {
                var created = await admin.CreateAsync(user, username, displayName, role, password, context.RequestAborted);
                return SeeOther(context, $"created={Uri.EscapeDataString(created.Username)}");
            }
            catch (SovereignException e) when (e.Kind == ErrorKind.Conflict)
            {
                invalid.Add("username-taken");
            }
            catch (SovereignException e) when (e.Kind == ErrorKind.InvalidRequest)
            {
                invalid.Add(e.Param ?? "invalid");
            }
        }
        // What was typed comes back so it need not be typed again; never the password.
        return SeeOther(context, $"invalid={Uri.EscapeDataString(string.Join(',', invalid))}&username={Uri.EscapeDataString(username)}" +
            $"&display_name={Uri.EscapeDataString(displayName)}&role={Uri.EscapeDataString(role)}");
    }

    private static IResult SeeOther(HttpContext context, string query)
    {
        // 303: the browser follows with a GET, so reloading the page does not post again.
        context.Response.Headers.Location = $"{PagePath}?{query}";
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    private static async Task<IResult> ChangeAsync(HttpContext context, string id, string done, Func<WebUser, Task<WebAccount?>> change)
    {
        var user = WebUser.From(context.User) ?? throw new SovereignException(ErrorKind.Unauthorized, "Sign in first.");
        string query;
        try
        {
            query = await change(user) is { } account ? $"done={done}&user={Uri.EscapeDataString(account.Username)}" : "problem=not-found";
        }
        catch (SovereignException e) when (e.Kind == ErrorKind.InvalidRequest)
        {
            query = $"problem={Uri.EscapeDataString(e.Param ?? "invalid")}&id={Uri.EscapeDataString(id)}";
        }
        return SeeOther(context, query);
    }
}
