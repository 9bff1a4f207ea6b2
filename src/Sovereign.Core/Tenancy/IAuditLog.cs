namespace Sovereign.Core.Tenancy;

/// <summary>
/// One administrative action to record. <see cref="Action"/> is a dotted name from <see cref="AuditActions"/> (or an
/// area's own, same style); <see cref="Target"/> names the object (an id or a name); <see cref="Detail"/> is short
/// free text, never secrets and never document or prompt content. Immutable.
/// </summary>
public sealed record AuditEvent(string Action, string Target, string? Detail = null)
{
    /// <summary>Who did it (<c>key:&lt;id&gt;</c>, <c>user:&lt;id&gt;</c>, <c>system</c>); null: the caller of the current request.</summary>
    public string? Actor { get; init; }
}

/// <summary>
/// The append-only, hash-chained audit log of administrative actions. Records belong to the tenant in
/// <see cref="TenantScope"/> (the default tenant outside any). <see cref="AppendAsync"/> returns once the record is
/// committed. Thread-safe; any area may call it (resolve it from DI).
/// </summary>
public interface IAuditLog
{
    Task AppendAsync(AuditEvent entry, CancellationToken cancellationToken = default);
}

/// <summary>Action names used across areas, so that audit queries can rely on them.</summary>
public static class AuditActions
{
    public const string KeyCreated = "key.created";
    public const string KeyRevoked = "key.revoked";
    public const string KeyLimitsChanged = "key.limits_changed";
    public const string UserCreated = "user.created";
    public const string UserRoleChanged = "user.role_changed";
    public const string UserPasswordChanged = "user.password_changed";
    public const string UserDisabled = "user.disabled";
    public const string TenantCreated = "tenant.created";
    public const string TenantChanged = "tenant.changed";
    public const string TenantLimitsChanged = "tenant.limits_changed";
    public const string ModelImported = "model.imported";
    public const string ModelRemoved = "model.removed";
    public const string ModelCopied = "model.copied";
    public const string ModelPulled = "model.pulled";
    public const string AppPublished = "app.published";
    public const string AppDeleted = "app.deleted";
    public const string KnowledgeDeleted = "knowledge.deleted";
    public const string SettingsChanged = "settings.changed";
}
