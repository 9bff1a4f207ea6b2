using Sovereign.Bench.Hosting;
using System.Net;
using System.Net.Http.Json;
using Sovereign.Cluster.Tests.Support;

namespace Sovereign.Cluster.Tests;

/// <summary>
/// Who may not join: a node with another cluster secret, or with a certificate the organisation's CA did not sign, never
/// becomes a member that the cluster's nodes route work to, even on the same Redis.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class JoinRefusalTests
{
    private static readonly TimeSpan Watch = TimeSpan.FromSeconds(8);

    /// <summary>Watches <paramref name="node"/>'s membership for a while: it must stay alone.</summary>
    private static async Task AssertAloneAsync(ClusterNode node)
    {
        var until = DateTime.UtcNow + Watch;
        while (DateTime.UtcNow < until)
        {
            Assert.Single(node.Directory.Members());
            await Task.Delay(250);
        }
    }

    private static async Task AssertModelNowhereAsync(ClusterNode node)
    {
        using var response = await node.Http.PostAsJsonAsync("v1/completions", new { model = ClusterNode.Model, prompt = "Once upon a time", max_tokens = 4 });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_node_with_another_secret_on_the_same_Redis_is_not_a_member()
    {
        await using var redis = await RedisProcess.StartAsync(CancellationToken.None);
        await using var a = await ClusterNode.StartAsync("a", redis.Endpoint, withModel: false);
        await using var other = await ClusterNode.StartAsync("other", redis.Endpoint, withModel: true, "--Sovereign:ClusterSecret=another-secret-0123456789abcdef");

        await AssertAloneAsync(a);
        Assert.Single(other.Directory.Members());
        // Its model is not offered to the cluster: a knows of no node that has it.
        await AssertModelNowhereAsync(a);
    }

    [Fact]
    public async Task A_node_whose_certificate_the_organisation_did_not_sign_cannot_join()
    {
        var folder = Directory.CreateTempSubdirectory("sov-tls-refuse-").FullName;
        try
        {
            using var ca = TestCertificates.SelfSigned("Test Organisation CA");
            var caPath = Path.Combine(folder, "ca.crt");
            await File.WriteAllTextAsync(caPath, ca.ExportCertificatePem());
            using var member = TestCertificates.SignedBy(ca, "node-a");
            using var otherCa = TestCertificates.SelfSigned("Another CA");
            using var stranger = TestCertificates.SignedBy(otherCa, "node-x");

            await using var redis = await RedisProcess.StartAsync(CancellationToken.None);
            await using var a = await ClusterNode.StartAsync("a", redis.Endpoint, withModel: false,
                $"--Sovereign:ClusterCertificate={TestCertificates.WritePfx(member, folder, "pw-a")}", "--Sovereign:ClusterCertificatePassword=pw-a",
                $"--Sovereign:ClusterCertificateAuthority={caPath}");

            // The stranger knows the secret and trusts our CA, but its own certificate chains to another CA. It runs as a
            // process of its own: a silo the cluster declares dead stops its process, as Orleans does.
            SovNode? x = null;
            try
            {
                x = await SovNode.StartAsync("x", redis.Endpoint, withModel: true, environment: new Dictionary<string, string>
                {
                    ["SOV_CLUSTER_CERTIFICATE"] = TestCertificates.WritePfx(stranger, folder, "pw-x"),
                    ["SOV_CLUSTER_CERTIFICATE_PASSWORD"] = "pw-x",
                    ["SOV_CLUSTER_CERTIFICATE_AUTHORITY"] = caPath,
                });
            }
            catch (InvalidOperationException)
            {
                // It did not even come up: refused at its start.
            }
            try
            {
                await AssertAloneAsync(a);
                await AssertModelNowhereAsync(a);
                // The cluster declared it dead, and a silo told so stops.
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (x is { HasExited: false } && DateTime.UtcNow < deadline) await Task.Delay(200);
                Assert.True(x is null || x.HasExited, "the stranger node is still running after the cluster refused it");
            }
            finally
            {
                if (x is not null) await x.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
