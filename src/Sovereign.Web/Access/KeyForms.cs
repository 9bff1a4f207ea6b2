using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sovereign.Core.Errors;

namespace Sovereign.Web.Access;

/// <summary>
/// The keys page's create form as a plain HTML form post, with the antiforgery token the page renders into it (see
/// <see cref="UserForms"/> for why): without the token the post is refused with 400 and no key is made. The answer
/// goes back to the keys page; the new key's secret never travels in an address (which history and logs keep): it
/// waits in <see cref="NewKeySecrets"/> under a one-time ticket the page redeems.
/// </summary>
public static class KeyForms
{
    public const string PagePath = "/manage/keys";

    /// <summary>Where the create form posts; "new" is never a key's id (ids are generated).</summary>
    public const string CreatePath = PagePath + "/new";

    internal static void MapKeyForms(this IEndpointRouteBuilder app) =>
        app.MapPost(CreatePath, CreateAsync).RequireAuthorization(WebAuth.AdminPolicy).WithName("WebKeyCreate");

    private static async Task<IResult> CreateAsync(IFormCollection form, HttpContext context, IKeyAdministration keys, NewKeySecrets secrets)
    {
        var user = WebUser.From(context.User) ?? throw new SovereignException(ErrorKind.Unauthorized, "Sign in first.");
        var name = form["name"].ToString().Trim();
        var scope = form["scope"].ToString();
        var daysText = form["expires_in_days"].ToString().Trim();
        // Every problem at once, each as a code the page shows next to its field.
        var invalid = new List<string>();
        if (name.Length == 0) invalid.Add("name-missing");
        else if (name.Length > keys.MaxNameLength) invalid.Add("name");
        if (!keys.Scopes.Contains(scope)) invalid.Add("scope");
        int? days = null;
        if (daysText.Length > 0)
        {
            if (int.TryParse(daysText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) && d >= 1 && d <= keys.MaxExpiresInDays) days = d;
            else invalid.Add("days");
        }
        if (invalid.Count == 0)
        {
            try
            {
                var created = await keys.CreateAsync(user.TenantId, name, scope, days, user.Id, context.RequestAborted);
                return SeeOther(context, $"created={secrets.Keep(user, created)}");
            }
            catch (SovereignException e) when (e.Kind == ErrorKind.InvalidRequest)
            {
                invalid.Add(e.Param ?? "invalid");
            }
        }
        return SeeOther(context, $"invalid={Uri.EscapeDataString(string.Join(',', invalid))}&name={Uri.EscapeDataString(name)}" +
            $"&scope={Uri.EscapeDataString(scope)}&expires_in_days={Uri.EscapeDataString(daysText)}");
    }

    private static IResult SeeOther(HttpContext context, string query)
    {
        // 303: the browser follows with a GET, so reloading the page does not post again (nor make a second key).
        context.Response.Headers.Location = $"{PagePath}?{query}";
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }
}

/// <summary>
/// New keys' secrets between the create post and the page that shows them: each under a random ticket, given once,
/// only to the user who made the key, and forgotten after <see cref="Lifetime"/> if never asked for. In memory only,
/// so a restart forgets them (the key still works; its secret is simply not shown). Thread-safe.
/// </summary>
public sealed class NewKeySecrets(TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public string Keep(WebUser owner, CreatedWebApiKey created)
    {
        var now = time.GetUtcNow();
        foreach (var (ticket, old) in _entries)
        {
            if (old.Expires <= now) _entries.TryRemove(ticket, out _);
        }
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _entries[id] = new Entry(owner.TenantId, owner.Id, created, now + Lifetime);
        return id;
    }

    /// <summary>The key made under <paramref name="ticket"/>, removed so no second look finds it; null when unknown, expired or another user's.</summary>
    public CreatedWebApiKey? Take(WebUser user, string? ticket)
    {
        if (ticket is null || !_entries.TryGetValue(ticket, out var entry) || entry.TenantId != user.TenantId || entry.UserId != user.Id) return null;
        if (!_entries.TryRemove(new KeyValuePair<string, Entry>(ticket, entry))) return null;
        return entry.Expires > time.GetUtcNow() ? entry.Key : null;
    }

    private sealed record Entry(string TenantId, string UserId, CreatedWebApiKey Key, DateTimeOffset Expires);
}
