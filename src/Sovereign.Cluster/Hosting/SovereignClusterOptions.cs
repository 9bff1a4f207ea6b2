using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Sovereign.Cluster.Hosting;

/// <summary>
/// Cluster settings, read from the "Sovereign" section so the documented variables map onto them
/// (<c>SOV_CLUSTER_REDIS</c> → <c>Sovereign:ClusterRedis</c>). Without <see cref="ClusterRedis"/> the server runs alone,
/// exactly as it does without this project. Mutable for binding; read once at start-up.
/// </summary>
public sealed class SovereignClusterOptions
{
    /// <summary>The Redis endpoint that holds cluster membership, <c>host:port</c> (<c>SOV_CLUSTER_REDIS</c>). Unset: single node.</summary>
    public string? ClusterRedis { get; set; }

    /// <summary>
    /// The secret every node of one cluster shares (<c>SOV_CLUSTER_SECRET</c>), at least 16 characters. Nodes derive the
    /// Orleans cluster id from it, so nodes with another secret neither see this cluster's membership nor are accepted by
    /// its nodes. Required in cluster mode.
    /// </summary>
    public string? ClusterSecret { get; set; }

    /// <summary>This node's port for other nodes (<c>SOV_CLUSTER_PORT</c>). Default 11111.</summary>
    public int ClusterPort { get; set; } = 11111;

    /// <summary>
    /// The address this node listens on for other nodes and advertises to them (<c>SOV_CLUSTER_ADDRESS</c>); it never
    /// listens on any other interface. Default 127.0.0.1, so a node joins other machines only when told to.
    /// </summary>
    public string ClusterAddress { get; set; } = "127.0.0.1";

    /// <summary>The node's name in <c>sov cluster status</c> and <c>drain</c> (<c>SOV_CLUSTER_NODE_NAME</c>). Default host-port.</summary>
    public string? ClusterNodeName { get; set; }

    /// <summary>
    /// A PKCS#12 file with this node's certificate and key (<c>SOV_CLUSTER_CERTIFICATE</c>): node-to-node traffic then
    /// runs over mutual TLS and a peer must present a certificate that chains to <see cref="ClusterCertificateAuthority"/>.
    /// Unset: plain TCP (for a trusted network only).
    /// </summary>
    public string? ClusterCertificate { get; set; }

    /// <summary>The password of <see cref="ClusterCertificate"/> (<c>SOV_CLUSTER_CERTIFICATE_PASSWORD</c>), if it has one.</summary>
    public string? ClusterCertificatePassword { get; set; }

    /// <summary>
    /// The organisation's CA certificate (PEM or DER) that peers' certificates must chain to
    /// (<c>SOV_CLUSTER_CERTIFICATE_AUTHORITY</c>). Unset: peers must present this node's own certificate (one shared certificate).
    /// </summary>
    public string? ClusterCertificateAuthority { get; set; }

    /// <summary>Longest wait for any one call to another node (a report, a drain, each batch of a stream). Default 30 s.</summary>
    public TimeSpan ClusterCallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the nodes' advertisements are reused before they are asked again. Default 1 s.</summary>
    public TimeSpan ClusterReportLifetime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait for a node's advertisement; a node that misses it is left out of routing for that moment. Default 2 s.</summary>
    public TimeSpan ClusterReportTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public bool Enabled => !string.IsNullOrWhiteSpace(ClusterRedis);

    public string NodeName => string.IsNullOrWhiteSpace(ClusterNodeName) ? $"{Environment.MachineName}-{ClusterPort}" : ClusterNodeName;

    /// <summary>The Orleans cluster id: a digest of the secret, so the secret itself never travels or sits in Redis.</summary>
    public string ClusterId => "sovereign-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("sovereign-cluster\n" + ClusterSecret)))[..24];

    /// <summary>Every problem with the settings, each naming its setting; empty when valid (or when not in cluster mode).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Enabled) return errors;
        if (!TryParseHostPort(ClusterRedis!))
            errors.Add($"SOV_CLUSTER_REDIS (Sovereign:ClusterRedis) must be host:port, got '{ClusterRedis}'.");
        if (string.IsNullOrEmpty(ClusterSecret) || ClusterSecret.Length < 16)
            errors.Add("SOV_CLUSTER_SECRET (Sovereign:ClusterSecret) must be set to at least 16 characters, the same on every node of the cluster.");
        if (ClusterPort is < 1 or > 65535)
            errors.Add($"SOV_CLUSTER_PORT (Sovereign:ClusterPort) must be between 1 and 65535, got {ClusterPort}.");
        if (!IPAddress.TryParse(ClusterAddress, out _))
            errors.Add($"SOV_CLUSTER_ADDRESS (Sovereign:ClusterAddress) must be an IP address of this machine, got '{ClusterAddress}'.");
        if (ClusterCertificate is { Length: > 0 } cert && !File.Exists(cert))
            errors.Add($"SOV_CLUSTER_CERTIFICATE (Sovereign:ClusterCertificate) names '{cert}', which does not exist.");
        if (ClusterCertificateAuthority is { Length: > 0 } ca && !File.Exists(ca))
            errors.Add($"SOV_CLUSTER_CERTIFICATE_AUTHORITY (Sovereign:ClusterCertificateAuthority) names '{ca}', which does not exist.");
        if (ClusterCertificateAuthority is { Length: > 0 } && string.IsNullOrEmpty(ClusterCertificate))
            errors.Add("SOV_CLUSTER_CERTIFICATE_AUTHORITY is set without SOV_CLUSTER_CERTIFICATE: TLS needs this node's own certificate.");
        if (ClusterCallTimeout <= TimeSpan.Zero)
            errors.Add($"Sovereign:ClusterCallTimeout must be positive, got {ClusterCallTimeout}.");
        if (ClusterReportTimeout <= TimeSpan.Zero)
            errors.Add($"Sovereign:ClusterReportTimeout must be positive, got {ClusterReportTimeout}.");
        return errors;
    }

    private static bool TryParseHostPort(string value)
    {
        var colon = value.LastIndexOf(':');
        return colon > 0 && int.TryParse(value[(colon + 1)..], out var port) && port is > 0 and <= 65535;
    }
}
