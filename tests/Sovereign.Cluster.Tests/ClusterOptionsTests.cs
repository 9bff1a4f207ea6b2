using Sovereign.Cluster.Hosting;

namespace Sovereign.Cluster.Tests;

public sealed class ClusterOptionsTests
{
    [Fact]
    public void Without_a_redis_endpoint_the_server_stays_a_single_node_and_nothing_is_checked()
    {
        var options = new SovereignClusterOptions { ClusterPort = -1 };
        Assert.False(options.Enabled);
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Every_bad_cluster_setting_is_reported_at_once_naming_its_variable()
    {
        var options = new SovereignClusterOptions { ClusterRedis = "nohostport", ClusterSecret = "short", ClusterPort = 70000, ClusterAddress = "everywhere" };
        var errors = options.Validate();
        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("SOV_CLUSTER_REDIS", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SOV_CLUSTER_SECRET", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SOV_CLUSTER_PORT", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SOV_CLUSTER_ADDRESS", StringComparison.Ordinal));
    }

    [Fact]
    public void The_cluster_id_is_derived_from_the_secret_without_revealing_it()
    {
        var one = new SovereignClusterOptions { ClusterRedis = "127.0.0.1:6379", ClusterSecret = "first-secret-0123456789" };
        var two = new SovereignClusterOptions { ClusterRedis = "127.0.0.1:6379", ClusterSecret = "other-secret-0123456789" };
        Assert.NotEqual(one.ClusterId, two.ClusterId);
        Assert.DoesNotContain("secret", one.ClusterId, StringComparison.Ordinal);
        Assert.Equal(one.ClusterId, new SovereignClusterOptions { ClusterSecret = "first-secret-0123456789" }.ClusterId);
    }
}
