using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Server.Auth;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Auth;

public sealed class ApiKeyAuthenticationTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task V1_without_a_key_is_401_in_OpenAIs_error_shape()
    {
        using var response = await _host.Client().GetAsync("v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Http.AssertOpenAiError(await Http.BodyAsync(response), "authentication_error", "invalid_api_key");
    }

    [Fact]
    public async Task V1_with_an_unknown_key_is_401_and_the_key_is_not_echoed_whole()
    {
        const string bogus = "sov-0000000000000000000000000000000000000000000";
        var (status, body) = await _host.Client(bogus).GetJsonAsync("v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        var error = Http.AssertOpenAiError(body, "authentication_error", "invalid_api_key");
        Assert.DoesNotContain(bogus, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_bearer_authorization_header_is_401()
    {
        var client = _host.Client();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz");
        var (status, body) = await client.GetJsonAsync("v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Http.AssertOpenAiError(body, "authentication_error", "invalid_api_key");
    }

    [Fact]
    public async Task A_revoked_key_is_401_at_once()
    {
        var (id, key) = await _host.CreateKeyAsync("to revoke");
        var client = _host.Client(key);
        using (var before = await client.GetAsync("v1/models")) Assert.Equal(HttpStatusCode.OK, before.StatusCode);

        using (var revoke = await _host.AdminClient().DeleteAsync($"admin/keys/{id}")) Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        var (status, body) = await client.GetJsonAsync("v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Http.AssertOpenAiError(body, "authentication_error", "invalid_api_key");
    }

    [Fact]
    public async Task An_expired_key_is_401()
    {
        var store = _host.Services.GetRequiredService<IApiKeyStore>();
        var expired = await store.CreateAsync(new NewApiKey("old", ApiKeyScopes.Inference, ExpiresAt: DateTimeOffset.UtcNow.AddDays(-1)));

        var (status, body) = await _host.Client(expired.Key).GetJsonAsync("v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Http.AssertOpenAiError(body, "authentication_error", "invalid_api_key");
    }

    [Fact]
    public async Task An_inference_key_on_admin_is_403()
    {
        var (_, key) = await _host.CreateKeyAsync("app", "inference");

        var (status, body) = await _host.Client(key).GetJsonAsync("admin/keys");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Http.AssertOpenAiError(body, "permission_error", "insufficient_scope");
    }

    [Fact]
    public async Task An_inference_key_may_call_v1_and_an_admin_key_may_too()
    {
        var (_, key) = await _host.CreateKeyAsync("app", "inference");

        using var asInference = await _host.Client(key).GetAsync("v1/models");
        using var asAdmin = await _host.AdminClient().GetAsync("v1/models");

        Assert.Equal(HttpStatusCode.OK, asInference.StatusCode);
        Assert.Equal(HttpStatusCode.OK, asAdmin.StatusCode);
    }

    [Fact]
    public async Task Health_needs_no_key()
    {
        using var response = await _host.Client().GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_used_key_shows_when_it_was_last_used()
    {
        var (id, key) = await _host.CreateKeyAsync("used");
        using (await _host.Client(key).GetAsync("v1/models"))
        {
        }

        var (_, list) = await _host.AdminClient().GetJsonAsync("admin/keys");
        var entry = list["data"]!.AsArray().Single(k => k!["id"]!.GetValue<string>() == id)!;
        Assert.NotNull(entry["last_used_at"]);
    }
}
