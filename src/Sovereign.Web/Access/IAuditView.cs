namespace Sovereign.Web.Access;

/// <summary>One audit record as the audit page shows it. Immutable.</summary>
public sealed record WebAuditRecord(long Seq, DateTimeOffset At, string Actor, string Action, string Target, string Detail);

/// <summary>The result of checking the audit chain: intact, or where it breaks and why. Immutable.</summary>
public sealed record WebAuditCheck(bool Intact, long Records, long? Seq, string? Problem);

/// <summary>
/// The audit log for the audit page, over the same store as <c>/admin/audit</c>: a tenant sees its own records; only
/// the operator (an administrator of the default tenant) checks the whole chain. Thread-safe.
/// </summary>
public interface IAuditView
{
    /// <summary>The tenant's newest records (at most <paramref name="limit"/>), newest first.</summary>
    Task<IReadOnlyList<WebAuditRecord>> NewestAsync(string tenantId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Whether this user may check the whole chain.</summary>
    bool CanVerify(WebUser user);

    /// <summary>Checks the whole chain; <c>SovereignException</c> (forbidden) when <see cref="CanVerify"/> is false.</summary>
    Task<WebAuditCheck> VerifyAsync(WebUser user, CancellationToken cancellationToken = default);
}
