using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Sovereign.Server.Tests.Infrastructure;
using Sovereign.Server.Tests.Tenancy;

namespace Sovereign.Server.Tests.Auth;

/// <summary>
/// Which key may call what. The knowledge endpoints are built on another branch: here a path's scope is checked before
/// routing, so "not refused" (neither 401 nor 403) is what this branch can show for them.
/// </summary>
public class KeyScopeTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<HttpStatusCode> CallAsync(string scope, HttpMethod method, string path)
    {
        var key = await TenantSetup.CreateKeyAsync(_host, TestHost.ConfiguredAdminKey, $"{scope} {Guid.NewGuid():N}", scope);
        using var request = new HttpRequestMessage(method, path);
        if (method != HttpMethod.Get) request.Content = JsonContent.Create(new { query = "x" });
        using var response = await TenantSetup.Client(_host, key).SendAsync(request);
        if (response.StatusCode == HttpStatusCode.Forbidden)
            Http.AssertOpenAiError(await Http.BodyAsync(response), "permission_error", "insufficient_scope");
        return response.StatusCode;
    }

    [Theory]
    [InlineData("inference", "GET", "v1/knowledge", false)]
    [InlineData("knowledge.read", "GET", "v1/knowledge", true)]
    [InlineData("knowledge.read", "GET", "v1/knowledge/kb_1/documents", true)]
    [InlineData("knowledge.read", "POST", "v1/knowledge/kb_1/search", true)]
    [InlineData("knowledge.read", "POST", "v1/knowledge", false)]
    [InlineData("knowledge.read", "DELETE", "v1/knowledge/kb_1", false)]
    [InlineData("knowledge.write", "POST", "v1/knowledge", true)]
    [InlineData("knowledge.write", "DELETE", "v1/knowledge/kb_1/documents/doc_1", true)]
    [InlineData("knowledge.write", "GET", "v1/knowledge", false)]
    [InlineData("knowledge.read knowledge.write", "GET", "v1/knowledge", true)]
    [InlineData("knowledge.read", "GET", "v1/models", false)]
    [InlineData("knowledge.write", "POST", "v1/chat/completions", false)]
    [InlineData("inference", "GET", "v1/usage", false)]
    [InlineData("admin", "GET", "v1/knowledge", true)]
    [InlineData("admin", "POST", "v1/knowledge", true)]
    [InlineData("mirror", "GET", "v1/models", false)]
    public async Task A_key_is_refused_403_exactly_where_its_scopes_do_not_reach(string scope, string method, string path, bool allowed)
    {
        var status = await CallAsync(scope, new HttpMethod(method), path);

        if (allowed) Assert.True(status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{scope} {method} {path} → {status}");
        else Assert.Equal(HttpStatusCode.Forbidden, status);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer    ")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("sov-test-admin-0123456789abcdefghij")]
    [InlineData("Bearer sov-has spaces inside")]
    [InlineData("Bearer sov-short")]
    public async Task A_malformed_authorization_header_is_401(string header)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        request.Headers.TryAddWithoutValidation("Authorization", header);
        using var response = await _host.Client().SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Http.AssertOpenAiError(await Http.BodyAsync(response), "authentication_error", "invalid_api_key");
    }

    [Fact]
    public async Task An_expired_or_revoked_key_with_the_right_scope_is_401_not_403()
    {
        var admin = _host.AdminClient();
        var key = await TenantSetup.CreateKeyAsync(_host, TestHost.ConfiguredAdminKey, "soon revoked", "knowledge.read");
        var id = await TenantSetup.KeyIdAsync(_host, TestHost.ConfiguredAdminKey, "soon revoked");
        (await admin.DeleteAsync($"admin/keys/{id}")).Dispose();
        using var revoked = await TenantSetup.Client(_host, key).GetAsync("v1/knowledge");
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);

        var old = await TenantSetup.CreateKeyAsync(_host, TestHost.ConfiguredAdminKey, "expired", "knowledge.read", expiresInDays: 1);
        var oldId = await TenantSetup.KeyIdAsync(_host, TestHost.ConfiguredAdminKey, "expired");
        await using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_host.Paths.Database}"))
        {
            await db.OpenAsync();
            await using var command = db.CreateCommand();
            command.CommandText = "UPDATE api_keys SET expires_at = unixepoch() - 60 WHERE id = $id";
            command.Parameters.AddWithValue("$id", oldId);
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }
        using var expired = await TenantSetup.Client(_host, old).GetAsync("v1/knowledge");
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        Assert.Contains("expired", (await Http.BodyAsync(expired))["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_can_carry_several_scopes_and_an_app_and_unknown_scopes_are_named()
    {
        var admin = _host.AdminClient();
        using var created = await admin.PostAsJsonAsync("admin/keys", new { name = "triage app", scope = "inference knowledge.read", app_id = "app_triage" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await Http.BodyAsync(created);
        Assert.Equal("inference knowledge.read", body["scope"]!.GetValue<string>());
        Assert.Equal("app_triage", body["app_id"]!.GetValue<string>());

        using var bad = await admin.PostAsJsonAsync("admin/keys", new { name = "x", scope = "inference knowledge.delete" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var error = Http.AssertOpenAiError(await Http.BodyAsync(bad), "invalid_request_error", "invalid_value", "scope");
        Assert.Contains("knowledge.write", error["message"]!.GetValue<string>(), StringComparison.Ordinal);

        using var otherTenant = await _host.Client(await TenantSetup.CreateKeyAsync(_host, TestHost.ConfiguredAdminKey, "a2", "admin"))
            .PostAsJsonAsync("admin/keys", new { name = "x", tenant_id = "nope" });
        Assert.Equal(HttpStatusCode.NotFound, otherTenant.StatusCode);
    }
}
