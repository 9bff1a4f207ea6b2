using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Server.Auth;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Admin;

/// <summary>
/// The admin key API (admin scope, enforced by the authentication middleware for all of <c>/admin</c>):
/// <c>POST /admin/keys</c> creates a key and returns it once; <c>GET /admin/keys</c> lists keys without secrets;
/// <c>DELETE /admin/keys/{id}</c> revokes. Keys are those of the caller's tenant. Times are unix seconds.
/// </summary>
internal static class KeysApi
{
    public const int MaxNameLength = 100;
    public const int MaxExpiresInDays = 3650;

    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/admin/keys");
        keys.MapPost("", CreateAsync).WithName("CreateApiKey");
        keys.MapGet("", ListAsync).WithName("ListApiKeys");
        keys.MapDelete("/{id}", RevokeAsync).WithName("RevokeApiKey");
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, IApiKeyStore store, TimeProvider time, ILoggerFactory loggers)
    {
        var principal = context.GetRequiredApiPrincipal();
        var body = await JsonBody.ReadAsync(context.Request, ServerJsonContext.Default.CreateKeyRequest);

        var problems = new RequestProblems();
        var name = body.Name?.Trim();
        if (string.IsNullOrEmpty(name)) problems.Missing("name");
        else if (name.Length > MaxNameLength) problems.Add("name", $"name must be at most {MaxNameLength} characters, got {name.Length}.", "invalid_value");
        var scope = body.Scope ?? ApiKeyScopes.Inference;
        if (!ApiKeyScopes.IsKnown(scope))
            problems.Add("scope", $"Invalid value for 'scope': '{scope}'. Supported values are: '{ApiKeyScopes.Inference}', '{ApiKeyScopes.Mirror}' and '{ApiKeyScopes.Admin}'.", "invalid_value");
        if (body.ExpiresInDays is { } days && (days < 1 || days > MaxExpiresInDays))
            problems.Add("expires_in_days", $"expires_in_days must be between 1 and {MaxExpiresInDays}, got {days}.", "invalid_value");
        problems.ThrowIfAny();

        var expires = body.ExpiresInDays is { } d ? time.GetUtcNow().AddDays(d) : (DateTimeOffset?)null;
        var created = await store.CreateAsync(new NewApiKey(name!, scope, principal.TenantId, expires), context.RequestAborted);
        loggers.CreateLogger(typeof(KeysApi).FullName!).ApiKeyCreated(created.Info.Id, created.Info.Prefix, scope, principal.KeyId);
        return TypedResults.Json(CreatedApiKeyObject.From(created), ServerJsonContext.Default.CreatedApiKeyObject, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpContext context, IApiKeyStore store)
    {
        var principal = context.GetRequiredApiPrincipal();
        var keys = await store.ListAsync(principal.TenantId, context.RequestAborted);
        return TypedResults.Json(new ApiKeyList("list", [.. keys.Select(ApiKeyObject.From)]), ServerJsonContext.Default.ApiKeyList);
    }

    private static async Task<IResult> RevokeAsync(string id, HttpContext context, IApiKeyStore store, ILoggerFactory loggers)
    {
        var principal = context.GetRequiredApiPrincipal();
        var revoked = await store.RevokeAsync(principal.TenantId, id, context.RequestAborted)
            ?? throw new SovereignException(ErrorKind.NotFound, $"No API key with id '{id}'.", "id", "api_key_not_found");
        loggers.CreateLogger(typeof(KeysApi).FullName!).ApiKeyRevoked(revoked.Id, principal.KeyId);
        return TypedResults.Json(ApiKeyObject.From(revoked), ServerJsonContext.Default.ApiKeyObject);
    }
}

internal sealed class CreateKeyRequest
{
    public string? Name { get; set; }
    public string? Scope { get; set; }
    public int? ExpiresInDays { get; set; }
}

/// <summary>A key as the admin API shows it: never the hash, never the key.</summary>
internal sealed record ApiKeyObject(
    string Id,
    string Object,
    string Name,
    string TenantId,
    string Prefix,
    string Scope,
    long CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? ExpiresAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? RevokedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? LastUsedAt)
{
    public static ApiKeyObject From(ApiKeyInfo k) => new(k.Id, "api_key", k.Name, k.TenantId, k.Prefix, string.Join(' ', k.Scopes),
        k.CreatedAt.ToUnixTimeSeconds(), k.ExpiresAt?.ToUnixTimeSeconds(), k.RevokedAt?.ToUnixTimeSeconds(), k.LastUsedAt?.ToUnixTimeSeconds());
}

/// <summary>The creation response: the key's fields plus <c>key</c>, the only time the plain key is returned.</summary>
internal sealed record CreatedApiKeyObject(
    string Id,
    string Object,
    string Name,
    string TenantId,
    string Prefix,
    string Scope,
    long CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? ExpiresAt,
    string Key)
{
    public static CreatedApiKeyObject From(CreatedApiKey created)
    {
        var k = created.Info;
        return new(k.Id, "api_key", k.Name, k.TenantId, k.Prefix, string.Join(' ', k.Scopes), k.CreatedAt.ToUnixTimeSeconds(),
            k.ExpiresAt?.ToUnixTimeSeconds(), created.Key);
    }
}

internal sealed record ApiKeyList(string Object, IReadOnlyList<ApiKeyObject> Data);
