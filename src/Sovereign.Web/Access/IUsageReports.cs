namespace Sovereign.Web.Access;

public enum WebUsageGrouping
{
    Day,
    Model,
    App,
    Key,
}

/// <summary>Generation usage summed over one group (a day <c>2026-11-27</c>, a model, an app id or a key id; empty for none). Immutable.</summary>
public sealed record WebUsageRow(string Group, long Requests, long PromptTokens, long CompletionTokens)
{
    public long TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>
/// The tenant's usage records (every API and the web interface), summed for the usage page: the same store as
/// <c>GET /v1/usage</c>. Thread-safe.
/// </summary>
public interface IUsageReports
{
    /// <summary>Usage since <paramref name="from"/>, grouped; days oldest first, the rest by most tokens.</summary>
    Task<IReadOnlyList<WebUsageRow>> GroupAsync(string tenantId, WebUsageGrouping groupBy, DateTimeOffset from, CancellationToken cancellationToken = default);
}
