using System.Net;
using System.Text.Json.Nodes;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Admin;

public sealed class KeysApiTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Creating_a_key_returns_the_plain_key_once_with_its_details()
    {
        var (status, body) = await _host.AdminClient().PostJsonAsync("admin/keys", """{"name":"billing app","expires_in_days":30}""");

        Assert.Equal(HttpStatusCode.Created, status);
        var key = body["key"]!.GetValue<string>();
        Assert.StartsWith("sov-", key, StringComparison.Ordinal);
        Assert.Equal(47, key.Length);
        Assert.StartsWith("key_", body["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("api_key", body["object"]!.GetValue<string>());
        Assert.Equal("billing app", body["name"]!.GetValue<string>());
        Assert.Equal("inference", body["scope"]!.GetValue<string>());
        Assert.Equal("default", body["tenant_id"]!.GetValue<string>());
        Assert.Equal(key[..12], body["prefix"]!.GetValue<string>());
        Assert.Equal(30 * 86400, body["expires_at"]!.GetValue<long>() - body["created_at"]!.GetValue<long>(), tolerance: 2);
    }

    [Fact]
    public async Task Listing_keys_never_shows_a_plain_key_or_a_hash()
    {
        var (_, plain) = await _host.CreateKeyAsync("listed");

        using var response = await _host.AdminClient().GetAsync("admin/keys");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(plain, text, StringComparison.Ordinal);
        Assert.DoesNotContain(TestHost.ConfiguredAdminKey, text, StringComparison.Ordinal);
        var body = JsonNode.Parse(text)!;
        Assert.Equal("list", body["object"]!.GetValue<string>());
        var keys = body["data"]!.AsArray();
        Assert.Equal(2, keys.Count);
        foreach (var k in keys)
        {
            var fields = k!.AsObject().Select(p => p.Key).ToArray();
            Assert.DoesNotContain("key", fields);
            Assert.DoesNotContain("hash", fields);
            Assert.Contains("revoked_at", fields);
        }
    }

    [Fact]
    public async Task Revoking_a_key_marks_it_revoked_in_the_list()
    {
        var (id, _) = await _host.CreateKeyAsync("short-lived");

        using (var revoke = await _host.AdminClient().DeleteAsync($"admin/keys/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
            Assert.NotNull((await Http.BodyAsync(revoke))["revoked_at"]);
        }

        var (_, list) = await _host.AdminClient().GetJsonAsync("admin/keys");
        var entry = list["data"]!.AsArray().Single(k => k!["id"]!.GetValue<string>() == id)!;
        Assert.NotNull(entry["revoked_at"]);
    }

    [Fact]
    public async Task Revoking_an_unknown_key_is_404()
    {
        using var response = await _host.AdminClient().DeleteAsync("admin/keys/key_doesnotexist");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Http.AssertOpenAiError(await Http.BodyAsync(response), "invalid_request_error", "api_key_not_found");
    }

    [Fact]
    public async Task A_key_request_without_a_name_or_with_an_unknown_scope_is_400_naming_both()
    {
        var (status, body) = await _host.AdminClient().PostJsonAsync("admin/keys", """{"scope":"root","expires_in_days":0}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Http.AssertOpenAiError(body, "invalid_request_error", param: "name");
        var message = error["message"]!.GetValue<string>();
        Assert.Contains("'root'", message, StringComparison.Ordinal);
        Assert.Contains("expires_in_days", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_created_admin_key_may_manage_keys()
    {
        var (_, admin) = await _host.CreateKeyAsync("second admin", "admin");

        using var response = await _host.Client(admin).GetAsync("admin/keys");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
