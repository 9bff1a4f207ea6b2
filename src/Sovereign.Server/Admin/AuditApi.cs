using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sovereign.Core.Errors;
using Sovereign.Server.Tenancy;

namespace Sovereign.Server.Admin;

/// <summary>
/// The audit log: <c>GET /admin/audit?after=SEQ&amp;limit=N</c> lists the caller's tenant's records, oldest first;
/// <c>GET /admin/audit/verify</c> (the operator only) checks the whole chain and says where it breaks.
/// </summary>
internal static class AuditApi
{
    public const int MaxLimit = 1000;

    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var audit = app.MapGroup("/admin/audit");
        audit.MapGet("", ListAsync).WithName("ListAuditRecords");
        audit.MapGet("/verify", Verify).WithName("VerifyAuditChain");
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext context, IAuditReader audit, long? after, int? limit)
    {
        if (limit is { } l && (l < 1 || l > MaxLimit)) throw SovereignException.Invalid($"limit must be between 1 and {MaxLimit}, got {l}.", "limit");
        if (after is < 0) throw SovereignException.Invalid($"after must be 0 or more, got {after}.", "after");
        var records = await audit.ListAsync(after, limit ?? 100, context.RequestAborted);
        return TypedResults.Json(new AuditList("list", [.. records.Select(AuditObject.From)]), TenancyJsonContext.Default.AuditList);
    }

    private static IResult Verify(HttpContext context, IAuditReader audit)
    {
        AdminAccess.RequireOperator(context);
        var v = audit.Verify();
        return TypedResults.Json(new AuditVerificationObject(v.Intact, v.Records, v.Seq, v.Problem), TenancyJsonContext.Default.AuditVerificationObject);
    }
}

internal sealed record AuditObject(long Seq, string TenantId, long At, string Actor, string Action, string Target, string Detail, string Hash)
{
    public static AuditObject From(AuditRecord r) => new(r.Seq, r.TenantId, r.At.ToUnixTimeMilliseconds(), r.Actor, r.Action, r.Target, r.Detail, r.Hash);
}

internal sealed record AuditList(string Object, IReadOnlyList<AuditObject> Data);

internal sealed record AuditVerificationObject(bool Intact, long Records, long? Seq, string? Problem);
