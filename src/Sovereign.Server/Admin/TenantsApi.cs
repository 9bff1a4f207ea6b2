using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Server.Tenancy;

namespace Sovereign.Server.Admin;

/// <summary>
/// Tenants (organisations), for the operator only (<see cref="AdminAccess"/>): <c>POST /admin/tenants</c>
/// <c>{"id","name","weight"}</c>, <c>GET /admin/tenants</c>, <c>GET|PATCH /admin/tenants/{id}</c> (weight, name),
/// <c>GET|PUT /admin/tenants/{id}/limits</c>. Weight is the tenant's share of each model's engine under load.
/// </summary>
internal static partial class TenantsApi
{
    public const int MaxWeight = 1000;

    public static IEndpointRouteBuilder MapTenantsApi(this IEndpointRouteBuilder app)
    {
        var tenants = app.MapGroup("/admin/tenants");
        tenants.MapPost("", CreateAsync).WithName("CreateTenant");
        tenants.MapGet("", ListAsync).WithName("ListTenants");
        tenants.MapGet("/{id}", GetAsync).WithName("GetTenant");
        tenants.MapPatch("/{id}", UpdateAsync).WithName("UpdateTenant");
        tenants.MapGet("/{id}/limits", GetLimitsAsync).WithName("GetTenantLimits");
        tenants.MapPut("/{id}/limits", SetLimitsAsync).WithName("SetTenantLimits");
        return app;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex IdPattern();

    private static async Task<IResult> CreateAsync(HttpContext context, ITenantStore store, IAuditLog audit)
    {
        AdminAccess.RequireOperator(context);
        var body = await JsonBody.ReadAsync(context.Request, TenancyJsonContext.Default.TenantRequest);
        var problems = new OpenAi.RequestProblems();
        if (string.IsNullOrEmpty(body.Id)) problems.Missing("id");
        else if (!IdPattern().IsMatch(body.Id)) problems.Add("id", $"id must be 1-63 lowercase letters, digits or '-', starting with a letter or digit; got '{body.Id}'.", "invalid_value");
        CheckWeight(body.Weight, problems);
        problems.ThrowIfAny();
        var tenant = await store.CreateAsync(body.Id!, string.IsNullOrWhiteSpace(body.Name) ? body.Id! : body.Name.Trim(), body.Weight ?? 1, context.RequestAborted);
        await audit.AppendAsync(new AuditEvent(AuditActions.TenantCreated, tenant.Id, $"weight {tenant.Weight}"), context.RequestAborted);
        return TypedResults.Json(TenantObject.From(tenant), TenancyJsonContext.Default.TenantObject, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpContext context, ITenantStore store)
    {
        AdminAccess.RequireOperator(context);
        var all = await store.ListAsync(context.RequestAborted);
        return TypedResults.Json(new TenantList("list", [.. all.Select(TenantObject.From)]), TenancyJsonContext.Default.TenantList);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, ITenantStore store)
    {
        AdminAccess.RequireOperator(context);
        return TypedResults.Json(TenantObject.From(await FindAsync(store, id, context)), TenancyJsonContext.Default.TenantObject);
    }

    private static async Task<IResult> UpdateAsync(string id, HttpContext context, ITenantStore store, IAuditLog audit)
    {
        AdminAccess.RequireOperator(context);
        var body = await JsonBody.ReadAsync(context.Request, TenancyJsonContext.Default.TenantRequest);
        var problems = new OpenAi.RequestProblems();
        CheckWeight(body.Weight, problems);
        problems.ThrowIfAny();
        var tenant = await FindAsync(store, id, context);
        if (body.Weight is { } w) tenant = await store.SetWeightAsync(id, w, context.RequestAborted) ?? tenant;
        await audit.AppendAsync(new AuditEvent(AuditActions.TenantChanged, id, $"weight {tenant.Weight}"), context.RequestAborted);
        return TypedResults.Json(TenantObject.From(tenant), TenancyJsonContext.Default.TenantObject);
    }

    private static async Task<IResult> GetLimitsAsync(string id, HttpContext context, ITenantStore store, IQuotaStore quotas)
    {
        AdminAccess.RequireOperator(context);
        await FindAsync(store, id, context);
        var limits = await quotas.GetAsync(QuotaSubjects.Tenant(id), context.RequestAborted);
        return TypedResults.Json(LimitsObject.From(limits), TenancyJsonContext.Default.LimitsObject);
    }

    private static async Task<IResult> SetLimitsAsync(string id, HttpContext context, ITenantStore store, IQuotaStore quotas, IQuotaEnforcer enforcer, IAuditLog audit)
    {
        AdminAccess.RequireOperator(context);
        var limits = (await JsonBody.ReadAsync(context.Request, TenancyJsonContext.Default.LimitsObject)).ToLimits();
        await FindAsync(store, id, context);
        await quotas.SetAsync(QuotaSubjects.Tenant(id), id, limits, context.RequestAborted);
        enforcer.Invalidate();
        await audit.AppendAsync(new AuditEvent(AuditActions.TenantLimitsChanged, id, Describe(limits)), context.RequestAborted);
        return TypedResults.Json(LimitsObject.From(limits), TenancyJsonContext.Default.LimitsObject);
    }

    internal static string Describe(QuotaLimits l) =>
        $"rpm {l.RequestsPerMinute?.ToString() ?? "-"}, tokens/day {l.TokensPerDay?.ToString() ?? "-"}, tokens/month {l.TokensPerMonth?.ToString() ?? "-"}, concurrent {l.ConcurrentGenerations?.ToString() ?? "-"}";

    private static async Task<TenantInfo> FindAsync(ITenantStore store, string id, HttpContext context) =>
        await store.FindAsync(id, context.RequestAborted) ?? throw SovereignException.NotFound($"No tenant with id '{id}'.", "id", "tenant_not_found");

    private static void CheckWeight(int? weight, OpenAi.RequestProblems problems)
    {
        if (weight is { } w && (w < 1 || w > MaxWeight)) problems.Add("weight", $"weight must be between 1 and {MaxWeight}, got {w}.", "invalid_value");
    }
}

internal sealed class TenantRequest
{
    public string? Id { get; set; }
    public string? Name { get; set; }
    public int? Weight { get; set; }
}

internal sealed record TenantObject(string Object, string Id, string Name, int Weight, long CreatedAt)
{
    public static TenantObject From(TenantInfo t) => new("tenant", t.Id, t.Name, t.Weight, t.CreatedAt.ToUnixTimeSeconds());
}

internal sealed record TenantList(string Object, IReadOnlyList<TenantObject> Data);
