using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Json;
using Sovereign.Core.Generation;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Tenancy;

/// <summary>Two tenants on one server with a scripted engine (isolation is about the API, not the model).</summary>
public sealed class TwoTenantsFixture : IAsyncLifetime
{
    internal TestHost Host { get; private set; } = null!;
    internal string KeyA { get; private set; } = "";
    internal string KeyB { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Host = await TestHost.StartAsync(inference: new ScriptedInference(ScriptedInference.Story(FinishReason.Stop, "Once", " upon")));
        await Host.ImportModelAsync("stories");
        KeyA = await TenantSetup.CreateTenantWithAdminKeyAsync(Host, "tenant-a");
        KeyB = await TenantSetup.CreateTenantWithAdminKeyAsync(Host, "tenant-b");
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>The isolation matrix over <see cref="TenantIsolationRegistry.Cases"/>: see the rule there.</summary>
public class TenantIsolationMatrixTests(TwoTenantsFixture fixture) : IClassFixture<TwoTenantsFixture>
{
    public static TheoryData<string> CaseNames => [.. TenantIsolationRegistry.Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Another_tenants_key_gets_404_for_the_object_and_does_not_see_it_listed(string name)
    {
        var entry = TenantIsolationRegistry.Cases.Single(c => c.Name == name);
        var host = fixture.Host;
        var ownerClient = TenantSetup.Client(host, fixture.KeyB);
        var strangerClient = TenantSetup.Client(host, fixture.KeyA);
        var id = await entry.CreateAsync(new IsolationOwner(new TestHostHandle(host), ownerClient, "tenant-b"));

        // The stranger first, so a deleting probe has not removed the object yet.
        foreach (var probe in entry.Probes)
        {
            using var response = await SendAsync(strangerClient, probe, id);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{name}: {probe.Method} {probe.Path} as another tenant → {(int)response.StatusCode} {text}");
            Assert.DoesNotContain("tenant-b", text, StringComparison.Ordinal);
        }
        if (entry.ListPath is { } list)
        {
            Assert.DoesNotContain(id, await strangerClient.GetStringAsync(list), StringComparison.Ordinal);
            Assert.Contains(id, await ownerClient.GetStringAsync(list), StringComparison.Ordinal);
        }
        foreach (var probe in entry.Probes)
        {
            using var response = await SendAsync(ownerClient, probe, id);
            var reached = probe.OwnerStatus is { } expected ? (int)response.StatusCode == expected : response.IsSuccessStatusCode;
            Assert.True(reached, $"{name}: {probe.Method} {probe.Path} as the owner → {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public void Every_entry_names_its_object_by_a_probe_or_a_listing()
    {
        Assert.All(TenantIsolationRegistry.Cases, c => Assert.True(c.Probes.Count > 0 || c.ListPath is not null, c.Name));
        Assert.Equal(TenantIsolationRegistry.Cases.Count, TenantIsolationRegistry.Cases.Select(c => c.Name).Distinct().Count());
    }

    /// <summary>
    /// THE RULE, enforced: every route that names an object by a route parameter has a probe in the registry, or an
    /// exemption in <see cref="TenantIsolationRegistry.Exempt"/> that says why it is not tenant-owned or is proved elsewhere.
    /// A new endpoint without either fails here.
    /// </summary>
    [Fact]
    public void Every_route_that_names_an_object_is_in_the_matrix_or_exempt_with_a_reason()
    {
        var probed = TenantIsolationRegistry.Cases.SelectMany(c => c.Probes).Select(p => TenantIsolationRegistry.Shape(p.Method, p.Path)).ToHashSet();
        var routes = fixture.Host.Services.GetServices<Microsoft.AspNetCore.Routing.EndpointDataSource>()
            .SelectMany(source => source.Endpoints)
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .Where(e => e.RoutePattern.Parameters.Count > 0)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(method => TenantIsolationRegistry.Shape(method, e.RoutePattern.RawText ?? "")))
            .Distinct()
            .ToList();
        Assert.NotEmpty(routes);

        var missing = routes.Where(r => !probed.Contains(r) && !TenantIsolationRegistry.Exempt.ContainsKey(r)).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, "Routes that name an object but are neither probed nor exempt:\n" + string.Join("\n", missing));
        var stale = TenantIsolationRegistry.Exempt.Keys.Where(r => !routes.Contains(r)).ToList();
        Assert.True(stale.Count == 0, "Exemptions for routes that no longer exist: " + string.Join(", ", stale));
    }

    [Fact]
    public async Task A_tenant_admin_cannot_manage_tenants_or_make_keys_for_another_tenant()
    {
        var a = TenantSetup.Client(fixture.Host, fixture.KeyA);
        using (var list = await a.GetAsync("admin/tenants"))
            Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        using (var verify = await a.GetAsync("admin/audit/verify"))
            Assert.Equal(HttpStatusCode.Forbidden, verify.StatusCode);
        using var key = await a.PostAsJsonAsync("admin/keys", new { name = "sneaky", tenant_id = "tenant-b" });
        Assert.Equal(HttpStatusCode.BadRequest, key.StatusCode);
        Http.AssertOpenAiError(await Http.BodyAsync(key), "invalid_request_error", "invalid_value", "tenant_id");
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, IsolationProbe probe, string id)
    {
        var parts = id.Split('|', 2);
        var path = probe.Path.Replace("{id}", Uri.EscapeDataString(parts[0]), StringComparison.Ordinal);
        if (parts.Length == 2) path = path.Replace("{sub}", Uri.EscapeDataString(parts[1]), StringComparison.Ordinal);
        path = System.Text.RegularExpressions.Regex.Replace(path, @"\{(\w+)\}", "$1"); // any other parameter: its name, an id that exists nowhere
        var request = new HttpRequestMessage(new HttpMethod(probe.Method), path);
        request.Content = probe.Body switch
        {
            null => null,
            Func<HttpContent> make => make(),
            var json => JsonContent.Create(json),
        };
        return client.SendAsync(request);
    }
}
