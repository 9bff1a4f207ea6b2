using Sovereign.Core.Tenancy;
using Sovereign.Server.Tenancy;
using Sovereign.Web.Access;

namespace Sovereign.Server.WebUi;

/// <summary>The usage page over the usage store (the records <c>GET /v1/usage</c> reads), in the asking tenant. Thread-safe.</summary>
internal sealed class WebUsageReports(IUsageStore usage) : IUsageReports
{
    public async Task<IReadOnlyList<WebUsageRow>> GroupAsync(string tenantId, WebUsageGrouping groupBy, DateTimeOffset from,
        CancellationToken cancellationToken = default)
    {
        IReadOnlyList<UsageGroup> groups;
        using (TenantScope.Enter(tenantId))
        {
            groups = await usage.GroupAsync(new UsageQuery(From: from, GroupBy: groupBy switch
            {
                WebUsageGrouping.Day => UsageGrouping.Day,
                WebUsageGrouping.Model => UsageGrouping.Model,
                WebUsageGrouping.App => UsageGrouping.App,
                _ => UsageGrouping.Key,
            }),
                cancellationToken);
        }
        var rows = groups.Select(g => new WebUsageRow(g.Group, g.Requests, g.PromptTokens, g.CompletionTokens));
        return groupBy == WebUsageGrouping.Day ? [.. rows] : [.. rows.OrderByDescending(r => r.TotalTokens).ThenBy(r => r.Group, StringComparer.Ordinal)];
    }
}
