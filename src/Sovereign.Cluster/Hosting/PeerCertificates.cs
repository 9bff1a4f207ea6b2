using System.Security.Cryptography.X509Certificates;

namespace Sovereign.Cluster.Hosting;

/// <summary>Which certificates another node may present: those that chain to the organisation's anchor, and no others.</summary>
internal static class PeerCertificates
{
    /// <summary>
    /// True when <paramref name="peer"/> chains to <paramref name="anchor"/> alone (the machine's trusted roots do not
    /// count: a certificate any public CA issued must not make a stranger a node). Host names are not checked, since
    /// nodes are addressed by IP; the anchor is what binds a peer to the organisation.
    /// </summary>
    public static bool IsTrusted(X509Certificate2? peer, X509Certificate2 anchor)
    {
        if (peer is null) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(anchor);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        return chain.Build(peer);
    }
}
