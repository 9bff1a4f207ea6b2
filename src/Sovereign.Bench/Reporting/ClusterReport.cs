using System.Text.Json.Serialization;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Reporting;

/// <summary>
/// The cluster workload (<see cref="Workloads.ClusterWorkload"/>): the same request sent to the node that runs the model
/// and to a node that must route it there, interleaved, so what the extra hop costs is a ratio from one run.
/// </summary>
public sealed record ClusterReport
{
    /// <summary>"measured", "failed" (see errors) or "not_available" (see reason).</summary>
    public required string Status { get; init; }
    public string? Reason { get; init; }
    public string? Model { get; init; }
    public int? Rounds { get; init; }
    public int? Tokens { get; init; }
    /// <summary>Time to first token through the node that has the model loaded, milliseconds.</summary>
    public Summary? LocalTtftMs { get; init; }
    /// <summary>Time to first token through the other node (its API, then Orleans to the first node and back), milliseconds.</summary>
    public Summary? RemoteTtftMs { get; init; }
    public Summary? LocalDecodeTokensPerSecond { get; init; }
    public Summary? RemoteDecodeTokensPerSecond { get; init; }
    /// <summary>Median remote TTFT ÷ median local TTFT.</summary>
    [JsonPropertyName("ttft_ratio_remote_over_local")]
    public double? TtftRatioRemoteOverLocal { get; init; }
    /// <summary>Median remote decode tokens/s ÷ median local.</summary>
    [JsonPropertyName("decode_ratio_remote_over_local")]
    public double? DecodeRatioRemoteOverLocal { get; init; }
    public List<string> Errors { get; init; } = [];

    public static ClusterReport NotAvailable(string reason) => new() { Status = "not_available", Reason = reason };
}
