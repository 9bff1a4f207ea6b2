using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Sovereign.Cluster.Hosting;
using Sovereign.Cluster.Nodes;
using Sovereign.Cluster.Wire;

namespace Sovereign.Cluster.Routing;

/// <summary>
/// The nodes' advertisements as this node sees them: asked of every active member in parallel, each with a timeout,
/// and reused for <see cref="SovereignClusterOptions.ClusterReportLifetime"/>. A node that does not answer in time is
/// kept at its last advertisement until it answers again or leaves. Thread-safe.
/// </summary>
public sealed class ClusterDirectory
{
    private readonly IClusterMembershipService _membership;
    private readonly IGrainFactory _grains;
    private readonly LocalNode _local;
    private readonly SovereignClusterOptions _options;
    private readonly ILogger<ClusterDirectory> _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private (IReadOnlyList<NodeReport> Reports, DateTimeOffset At)? _cached;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, NodeReport> _lastKnown = new(StringComparer.Ordinal);

    public ClusterDirectory(IClusterMembershipService membership, IGrainFactory grains, LocalNode local, IOptions<SovereignClusterOptions> options,
        ILogger<ClusterDirectory> logger, TimeProvider? time = null)
    {
        _membership = membership;
        _grains = grains;
        _local = local;
        _options = options.Value;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The active members of the cluster (Orleans' membership view), this node included.</summary>
    public IReadOnlyList<ClusterMember> Members() =>
        [.. _membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active)];

    /// <summary>The advertisements of every active node that answered; <paramref name="fresh"/> skips the cache.</summary>
    public async Task<IReadOnlyList<NodeReport>> ReportsAsync(bool fresh, CancellationToken cancellationToken)
    {
        if (!fresh && _cached is { } c && _time.GetUtcNow() - c.At < _options.ClusterReportLifetime) return c.Reports;
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have refreshed while this one waited.
            if (!fresh && _cached is { } d && _time.GetUtcNow() - d.At < _options.ClusterReportLifetime) return d.Reports;
            // A member that is slow to answer (a busy machine) keeps its last advertisement rather than vanishing from
            // routing; a member that has left the cluster is forgotten.
            var members = Members();
            var answers = await Task.WhenAll(members.Select(m => AskAsync(m, cancellationToken)));
            var reports = new List<NodeReport>();
            foreach (var (member, answer) in members.Zip(answers))
            {
                var id = member.SiloAddress.ToParsableString();
                if (answer is not null) _lastKnown[id] = answer;
                if ((answer ?? _lastKnown.GetValueOrDefault(id)) is { } report) reports.Add(report);
            }
            foreach (var gone in _lastKnown.Keys.Except(members.Select(m => m.SiloAddress.ToParsableString())).ToList())
                _lastKnown.TryRemove(gone, out _);
            _cached = (reports, _time.GetUtcNow());
            return reports;
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>Forgets the cached advertisements, so the next request sees the cluster as it is now (after a node failed).</summary>
    public void Invalidate() => _cached = null;

    /// <summary>One node's advertisement, or null when it did not answer within the report timeout.</summary>
    public async Task<NodeReport?> AskAsync(ClusterMember member, CancellationToken cancellationToken)
    {
        var id = member.SiloAddress.ToParsableString();
        if (id == _local.Id) return _local.Report();
        try
        {
            return await _grains.GetGrain<INodeGrain>(id).ReportAsync().WaitAsync(_options.ClusterReportTimeout, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.ReportFailed(_logger, member.Name ?? id, _options.ClusterReportTimeout, e);
            return null;
        }
    }
}
