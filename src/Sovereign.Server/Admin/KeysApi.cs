using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Server.Auth;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Admin;

/// <summary>
/// The admin key API (admin scope, enforced by the authentication middleware for all of <c>/admin</c>):
/// <c>POST /admin/keys</c> <c>{"name","scope","expires_in_days","app_id","user_id","tenant_id"}</c> creates a key and
/// returns it once (<c>scope</c>: one or several of admin, inference, knowledge.read, knowledge.write, mirror,
/// separated by spaces; <c>tenant_id</c>: the operator only); <c>GET /admin/keys</c> lists keys without secrets;
/// <c>DELETE /admin/keys/{id}</c> revokes; <c>GET|PUT /admin/keys/{id}/limits</c> reads or sets its quota. Keys are
/// those of the caller's tenant (another tenant's key is a 404). Times are unix seconds. Changes are audited.
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
        keys.MapGet("/{id}/limits", GetLimitsAsync).WithName("GetApiKeyLimits");
        keys.MapPut("/{id}/limits", SetLimitsAsync).WithName("SetApiKeyLimits");
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, IApiKeyStore store, TimeProvider time, ILoggerFactory loggers,
        Tenancy.ITenantStore tenants, Tenancy.IUserStore users, IAuditLog audit)
    {
        var principal = context.GetRequiredApiPrincipal();
        var body = await JsonBody.ReadAsync(context.Request, ServerJsonContext.Default.CreateKeyRequest);

        var problems = new RequestProblems();
        var name = body.Name?.Trim();
        if (string.IsNullOrEmpty(name)) problems.Missing("name");
        else if (name.Length > MaxNameLength) problems.Add("name", $"name must be at most {MaxNameLength} characters, got {name.Length}.", "invalid_value");
        var scopes = ApiKeyScopes.Parse(body.Scope ?? ApiKeyScopes.Inference);
        var unknown = scopes.Where(s => !ApiKeyScopes.IsKnown(s)).ToList();
        if (scopes.Count == 0 || unknown.Count > 0)
        {
            problems.Add("scope", $"Invalid value for 'scope': '{body.Scope}'. Supported values (one or several, separated by spaces) are: "
                + string.Join(", ", ApiKeyScopes.All.Select(s => $"'{s}'")) + ".", "invalid_value");
        }
        if (body.ExpiresInDays is { } days && (days < 1 || days > MaxExpiresInDays))
            problems.Add("expires_in_days", $"expires_in_days must be between 1 and {MaxExpiresInDays}, got {days}.", "invalid_value");
        if (body.AppId is { Length: 0 or > MaxNameLength }) problems.Add("app_id", $"app_id must be 1 to {MaxNameLength} characters.", "invalid_value");
        var tenant = body.TenantId ?? principal.TenantId;
        if (tenant != principal.TenantId && !AdminAccess.IsOperator(principal))
            problems.Add("tenant_id", "Only the operator (an admin of the default tenant) may create keys for another tenant.", "invalid_value");
        problems.ThrowIfAny();
        if (tenant != principal.TenantId && await tenants.FindAsync(tenant, context.RequestAborted) is null)
            throw SovereignException.NotFound($"No tenant with id '{tenant}'.", "tenant_id", "tenant_not_found");
        if (body.UserId is { } userId)
        {
            using (TenantScope.Enter(tenant))
            {
                if (await users.FindAsync(userId, context.RequestAborted) is not { DisabledAt: null })
                    throw SovereignException.NotFound($"No user with id '{userId}'.", "user_id", "user_not_found");
            }
        }

        var expires = body.ExpiresInDays is { } d ? time.GetUtcNow().AddDays(d) : (DateTimeOffset?)null;
        var scope = string.Join(' ', scopes);
        var created = await store.CreateAsync(new NewApiKey(name!, scope, tenant, expires) { AppId = body.AppId, UserId = body.UserId }, context.RequestAborted);
        loggers.CreateLogger(typeof(KeysApi).FullName!).ApiKeyCreated(created.Info.Id, created.Info.Prefix, scope, principal.KeyId);
        using (TenantScope.Enter(tenant))
            await audit.AppendAsync(new AuditEvent(AuditActions.KeyCreated, created.Info.Id, $"'{created.Info.Name}' with scope {scope}"), context.RequestAborted);
        return TypedResults.Json(CreatedApiKeyObject.From(created), ServerJsonContext.Default.CreatedApiKeyObject, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> GetLimitsAsync(string id, HttpContext context, IApiKeyStore store, Tenancy.IQuotaStore quotas)
    {
        var key = await FindAsync(store, id, context);
        var limits = await quotas.GetAsync(Tenancy.QuotaSubjects.Key(key.Id), context.RequestAborted);
        return TypedResults.Json(LimitsObject.From(limits), Tenancy.TenancyJsonContext.Default.LimitsObject);
    }

    private static async Task<IResult> SetLimitsAsync(string id, HttpContext context, IApiKeyStore store, Tenancy.IQuotaStore quotas,
        Tenancy.IQuotaEnforcer enforcer, IAuditLog audit)
    {
        var limits = (await JsonBody.ReadAsync(context.Request, Tenancy.TenancyJsonContext.Default.LimitsObject)).ToLimits();
        var key = await FindAsync(store, id, context);
        await quotas.SetAsync(Tenancy.QuotaSubjects.Key(key.Id), key.TenantId, limits, context.RequestAborted);
        enforcer.Invalidate();
        await audit.AppendAsync(new AuditEvent(AuditActions.KeyLimitsChanged, key.Id, TenantsApi.Describe(limits)), context.RequestAborted);
        return TypedResults.Json(LimitsObject.From(limits), Tenancy.TenancyJsonContext.Default.LimitsObject);
    }

    private static async Task<ApiKeyInfo> FindAsync(IApiKeyStore store, string id, HttpContext context)
    {
        var principal = context.GetRequiredApiPrincipal();
        var keys = await store.ListAsync(principal.TenantId, context.RequestAborted);
        return keys.FirstOrDefault(k => k.Id == id) ?? throw new SovereignException(ErrorKind.NotFound, $"No API key with id '{id}'.", "id", "api_key_not_found");
    }

    private static async Task<IResult> ListAsync(HttpContext context, IApiKeyStore store)
    {
        var principal = context.GetRequiredApiPrincipal();
        var keys = await store.ListAsync(principal.TenantId, context.RequestAborted);
        return TypedResults.Json(new ApiKeyList("list", [.. keys.Select(ApiKeyObject.From)]), ServerJsonContext.Default.ApiKeyList);
    }

    private static async Task<IResult> RevokeAsync(string id, HttpContext context, IApiKeyStore store, ILoggerFactory loggers, IAuditLog audit)
    {
        var principal = context.GetRequiredApiPrincipal();
        var revoked = await store.RevokeAsync(principal.TenantId, id, context.RequestAborted)
            ?? throw new SovereignException(ErrorKind.NotFound, $"No API key with id '{id}'.", "id", "api_key_not_found");
        loggers.CreateLogger(typeof(KeysApi).FullName!).ApiKeyRevoked(revoked.Id, principal.KeyId);
        await audit.AppendAsync(new AuditEvent(AuditActions.KeyRevoked, revoked.Id, $"'{revoked.Name}'"), context.RequestAborted);
        return TypedResults.Json(ApiKeyObject.From(revoked), ServerJsonContext.Default.ApiKeyObject);
    }
}

internal sealed class CreateKeyRequest
{
    public string? Name { get; set; }
    public string? Scope { get; set; }
    public int? ExpiresInDays { get; set; }
    public string? AppId { get; set; }
    public string? UserId { get; set; }
    public string? TenantId { get; set; }
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
    public string? AppId { get; init; }
    public string? UserId { get; init; }

    public static ApiKeyObject From(ApiKeyInfo k) => new(k.Id, "api_key", k.Name, k.TenantId, k.Prefix, string.Join(' ', k.Scopes),
        k.CreatedAt.ToUnixTimeSeconds(), k.ExpiresAt?.ToUnixTimeSeconds(), k.RevokedAt?.ToUnixTimeSeconds(), k.LastUsedAt?.ToUnixTimeSeconds())
    {
        AppId = k.AppId,
        UserId = k.UserId,
    };
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
    public string? AppId { get; init; }
    public string? UserId { get; init; }

    public static CreatedApiKeyObject From(CreatedApiKey created)
    {
        var k = created.Info;
        return new(k.Id, "api_key", k.Name, k.TenantId, k.Prefix, string.Join(' ', k.Scopes), k.CreatedAt.ToUnixTimeSeconds(),
            k.ExpiresAt?.ToUnixTimeSeconds(), created.Key)
        {
            AppId = k.AppId,
            UserId = k.UserId,
        };
    }
}

internal sealed record ApiKeyList(string Object, IReadOnlyList<ApiKeyObject> Data);
