using Microsoft.Extensions.DependencyInjection;
using Sovereign.Core.Errors;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Hosting;

public sealed class OutboundHttpTests
{
    [Fact]
    public async Task Every_factory_made_HttpClient_refuses_hosts_outside_the_allow_list()
    {
        await using var host = await TestHost.StartAsync(settings: ["--Sovereign:AllowedHosts:0=mirror.internal"]);
        var factory = host.Services.GetRequiredService<IHttpClientFactory>();

        foreach (var client in new[] { factory.CreateClient(), factory.CreateClient("named") })
        {
            using (client)
            {
                var refused = await Assert.ThrowsAsync<SovereignException>(() => client.GetAsync("http://example.com/"));
                Assert.Equal("host_not_allowed", refused.Code);
            }
        }

        // Loopback is always allowed: the server itself answers.
        using var local = factory.CreateClient();
        using var health = await local.GetAsync(new Uri(host.Address, "health"));
        Assert.True(health.IsSuccessStatusCode);
    }
}
