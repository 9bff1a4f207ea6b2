using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Server.Auth;
using Sovereign.Server.Tenancy;
using Sovereign.Web.Access;

namespace Sovereign.Server.WebUi;

/// <summary>
/// The audit page over the audit log's reader, with the rules of <c>/admin/audit</c>: a tenant reads its own records,
/// only the operator checks the chain. Thread-safe.
/// </summary>
internal sealed class WebAuditView(IAuditReader audit) : IAuditView
{
    private const int Page = 1000;

    public async Task<IReadOnlyList<WebAuditRecord>> NewestAsync(string tenantId, int limit, CancellationToken cancellationToken = default)
    {
        // The reader pages oldest first; keep only the newest pages' worth while walking to the end.
        var newest = new Queue<AuditRecord>();
        using (TenantScope.Enter(tenantId))
        {
            long? after = null;
            while (true)
            {
                var page = await audit.ListAsync(after, Page, cancellationToken);
                foreach (var r in page)
                {
                    newest.Enqueue(r);
                    if (newest.Count > limit) newest.Dequeue();
                }
                if (page.Count < Page) break;
                after = page[^1].Seq;
            }
        }
        return [.. newest.Reverse().Select(r => new WebAuditRecord(r.Seq, r.At, r.Actor, r.Action, r.Target, r.Detail))];
    }

    public bool CanVerify(WebUser user) => user.TenantId == Tenants.Default && user.IsAdmin;

    public Task<WebAuditCheck> VerifyAsync(WebUser user, CancellationToken cancellationToken = default)
    {
        if (!CanVerify(user))
        {
            throw new SovereignException(ErrorKind.Forbidden,
                "Only an administrator of the default tenant (the operator of this installation) may check the audit chain.", code: "operator_only");
        }
        // Reading the whole chain is synchronous SQLite work: off the circuit's thread.
        return Task.Run(() =>
        {
            var v = audit.Verify();
            return new WebAuditCheck(v.Intact, v.Records, v.Seq, v.Problem);
        }, cancellationToken);
    }
}
