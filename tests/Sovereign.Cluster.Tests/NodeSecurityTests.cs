using Sovereign.Bench.Hosting;
using System.Security.Cryptography.X509Certificates;
using Sovereign.Cluster.Hosting;
using Sovereign.Cluster.Tests.Support;

namespace Sovereign.Cluster.Tests;

/// <summary>Node-to-node security: mutual TLS with the organisation's certificates.</summary>
public sealed class PeerCertificateTests
{
    [Fact]
    public void A_peer_is_trusted_only_with_a_certificate_of_the_organisation()
    {
        using var ca = TestCertificates.SelfSigned("Ministry CA");
        using var node = TestCertificates.SignedBy(ca, "node-1");
        using var stranger = TestCertificates.SelfSigned("node-1");
        using var strangerCa = TestCertificates.SelfSigned("Other CA");
        using var strangerNode = TestCertificates.SignedBy(strangerCa, "node-1");

        Assert.True(PeerCertificates.IsTrusted(node, ca));
        Assert.False(PeerCertificates.IsTrusted(stranger, ca));
        Assert.False(PeerCertificates.IsTrusted(strangerNode, ca));
        Assert.False(PeerCertificates.IsTrusted(null, ca));

        // One shared self-signed certificate: the certificate itself is the anchor.
        using var shared = TestCertificates.SelfSigned("cluster");
        using var anchor = X509CertificateLoader.LoadCertificate(shared.RawData);
        Assert.True(PeerCertificates.IsTrusted(shared, anchor));
        Assert.False(PeerCertificates.IsTrusted(stranger, anchor));
    }
}

[Collection(ClusterCollection.Name)]
public sealed class TlsClusterTests
{
    [Fact]
    public async Task Nodes_with_certificates_from_the_organisation_CA_route_and_stream_over_mutual_TLS()
    {
        var folder = Directory.CreateTempSubdirectory("sov-tls-").FullName;
        try
        {
            using var ca = TestCertificates.SelfSigned("Test Organisation CA");
            var caPath = Path.Combine(folder, "ca.crt");
            await File.WriteAllTextAsync(caPath, ca.ExportCertificatePem());
            using var nodeA = TestCertificates.SignedBy(ca, "node-a");
            using var nodeB = TestCertificates.SignedBy(ca, "node-b");
            var redis = await RedisProcess.StartAsync(CancellationToken.None);
            await using (redis)
            {
                await using var a = await ClusterNode.StartAsync("a", redis.Endpoint, withModel: false,
                    $"--Sovereign:ClusterCertificate={TestCertificates.WritePfx(nodeA, folder, "pw-a")}", "--Sovereign:ClusterCertificatePassword=pw-a",
                    $"--Sovereign:ClusterCertificateAuthority={caPath}");
                await using var b = await ClusterNode.StartAsync("b", redis.Endpoint, withModel: true,
                    $"--Sovereign:ClusterCertificate={TestCertificates.WritePfx(nodeB, folder, "pw-b")}", "--Sovereign:ClusterCertificatePassword=pw-b",
                    $"--Sovereign:ClusterCertificateAuthority={caPath}");
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (a.Directory.Members().Count != 2 || b.Directory.Members().Count != 2)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the TLS nodes did not see each other");
                    await Task.Delay(100);
                }

                var text = await a.CompleteAsync();
                Assert.Contains("Lily", text, StringComparison.Ordinal);
                Assert.Equal((0, 1), (a.Engine.RunnerStarts, b.Engine.RunnerStarts));

                // The node port speaks TLS and presents the node's own certificate, not plain Orleans frames.
                var port = int.Parse(b.Local.Id.Split('@')[0].Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
                using var tcp = new System.Net.Sockets.TcpClient();
                await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
                X509Certificate? presented = null;
                await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, cert, _, _) =>
                {
                    presented = cert;
                    return true;
                });
                await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
                {
                    TargetHost = "node-b",
                    ClientCertificates = [nodeA],
                });
                Assert.Equal(nodeB.Thumbprint, Assert.IsType<X509Certificate2>(presented).Thumbprint);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
