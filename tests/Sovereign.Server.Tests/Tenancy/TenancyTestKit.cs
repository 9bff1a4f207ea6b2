using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Tenancy;

/// <summary>A browser-like client: keeps cookies, does not follow redirects, sends the antiforgery token when asked.</summary>
internal sealed class BrowserSession : IDisposable
{
    private readonly HttpClient _client;

    public BrowserSession(TestHost host)
    {
        Cookies = new CookieContainer();
        _client = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false, UseCookies = true })
        {
            BaseAddress = host.Address,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public CookieContainer Cookies { get; }
    public HttpClient Http => _client;
    public string? CsrfToken { get; private set; }

    public async Task<string> FetchCsrfTokenAsync()
    {
        var (status, body) = await _client.GetJsonAsync("auth/antiforgery");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("X-CSRF-TOKEN", body["header_name"]!.GetValue<string>());
        Assert.Equal("__RequestVerificationToken", body["form_field_name"]!.GetValue<string>());
        return CsrfToken = body["token"]!.GetValue<string>();
    }

    /// <summary>Sends a request with the antiforgery header (when <paramref name="csrf"/>) and returns status and body text.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? json = null, bool csrf = true)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = JsonContent.Create(json);
        if (csrf && CsrfToken is not null) request.Headers.Add("X-CSRF-TOKEN", CsrfToken);
        return await _client.SendAsync(request);
    }

    public async Task<HttpResponseMessage> LoginAsync(string username, string password)
    {
        if (CsrfToken is null) await FetchCsrfTokenAsync();
        var response = await SendAsync(HttpMethod.Post, "auth/login", new { username, password });
        // Antiforgery tokens are bound to the signed-in user: the one from before sign-in no longer fits.
        if (response.IsSuccessStatusCode) await FetchCsrfTokenAsync();
        return response;
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>Tenants and keys made through the public admin API, as an operator would.</summary>
internal static class TenantSetup
{
    /// <summary>Creates tenant <paramref name="id"/> and an admin key for it (with the operator's key); returns that key.</summary>
    public static async Task<string> CreateTenantWithAdminKeyAsync(TestHost host, string id, int weight = 1)
    {
        var admin = host.AdminClient();
        using (var created = await admin.PostAsJsonAsync("admin/tenants", new { id, name = id.ToUpperInvariant(), weight }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return await CreateKeyAsync(host, TestHost.ConfiguredAdminKey, $"{id}-admin", "admin", tenantId: id);
    }

    /// <summary>Creates a key with the given admin key; returns the plain key.</summary>
    public static async Task<string> CreateKeyAsync(TestHost host, string adminKey, string name, string scope, string? tenantId = null, string? appId = null,
        int? expiresInDays = null)
    {
        using var response = await host.Client(adminKey).PostAsJsonAsync("admin/keys",
            new { name, scope, tenant_id = tenantId, app_id = appId, expires_in_days = expiresInDays });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonNode.Parse(text)!["key"]!.GetValue<string>();
    }

    public static async Task<string> KeyIdAsync(TestHost host, string adminKey, string name)
    {
        var (_, body) = await host.Client(adminKey).GetJsonAsync("admin/keys");
        return body["data"]!.AsArray().Single(k => k!["name"]!.GetValue<string>() == name)!["id"]!.GetValue<string>();
    }

    public static HttpClient Client(TestHost host, string key)
    {
        var client = host.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}
