namespace Sovereign.Core.Tenancy;

/// <summary>
/// The tenant the current logical operation acts for. Authentication enters it for each request; background work
/// (ingestion jobs, agent runs) enters the tenant of the thing it works on. Stores read it here, in one place,
/// rather than taking a tenant argument in every call, so an endpoint cannot forget to filter.
/// </summary>
public static class TenantScope
{
    /// <summary>The tenant every installation has; keys made before tenancy existed belong to it.</summary>
    public const string DefaultTenant = "default";

    private static readonly AsyncLocal<string?> CurrentTenant = new();

    /// <summary>The tenant in scope, or null outside any (e.g. <c>/health</c>, start-up).</summary>
    public static string? Current => CurrentTenant.Value;

    /// <summary>The tenant in scope; throws when there is none, because tenant-owned data must never be read unscoped.</summary>
    public static string Require() =>
        CurrentTenant.Value ?? throw new InvalidOperationException("No tenant is in scope: tenant-owned data was touched outside a request or job.");

    /// <summary>Enters <paramref name="tenantId"/> until the returned handle is disposed (then the previous one returns).</summary>
    public static IDisposable Enter(string tenantId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        var previous = CurrentTenant.Value;
        CurrentTenant.Value = tenantId;
        return new Exit(previous);
    }

    private sealed class Exit(string? previous) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            CurrentTenant.Value = previous;
        }
    }
}
