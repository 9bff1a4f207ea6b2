using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sovereign.Server.Tests.EndToEnd;

namespace Sovereign.Server.Tests.SharedState;

/// <summary>
/// Two real servers (each with its own data folder and its own llama.cpp runner) on one PostgreSQL database
/// (SOV_DATABASE), talked to over HTTP: what one node accepts, the other knows.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class TwoNodesOneDatabaseTests(PostgresServerFixture postgres)
{
    private static async Task<JsonObject> SendAsync(HttpClient http, HttpMethod method, string path, string key, object? body, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} {path}: expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text) as JsonObject ?? [];
    }

    private static Task<JsonObject> ChatAsync(SovereignTestServer node, string key, HttpStatusCode expected = HttpStatusCode.OK) =>
        SendAsync(node.Http, HttpMethod.Post, "v1/chat/completions", key, new
        {
            model = SovereignTestServer.ChatModel,
            temperature = 0,
            max_tokens = 4,
            messages = new[] { new { role = "user", content = "Once upon a time" } },
        }, expected);

    private static async Task<string> TenantAdminKeyAsync(SovereignTestServer node, string tenant)
    {
        await SendAsync(node.Http, HttpMethod.Post, "admin/tenants", SovereignTestServer.AdminKey, new { id = tenant, name = tenant, weight = 1 }, HttpStatusCode.Created);
        var created = await SendAsync(node.Http, HttpMethod.Post, "admin/keys", SovereignTestServer.AdminKey,
            new { name = tenant + "-admin", scope = "admin", tenant_id = tenant }, HttpStatusCode.Created);
        return created["key"]!.GetValue<string>();
    }

    [Fact]
    public async Task A_key_made_on_one_node_works_on_the_other_and_a_daily_token_quota_counts_usage_from_both()
    {
        var database = await postgres.Server.CreateDatabaseAsync();
        // Both start at once on the empty database: one migrates it, one makes the owner, neither fails.
        var nodes = await Task.WhenAll(SovereignTestServer.StartAsync($"--Sovereign:Database={database}"), SovereignTestServer.StartAsync($"--Sovereign:Database={database}"));
        await using var a = nodes[0];
        await using var b = nodes[1];

        // A key made on A is accepted by B, and a key revoked on B is refused by A.
        var lab = await TenantAdminKeyAsync(a, "lab");
        var probe = await ChatAsync(b, lab);
        var tokensPerRequest = probe["usage"]!["total_tokens"]!.GetValue<int>();
        var revocable = await SendAsync(a.Http, HttpMethod.Post, "admin/keys", lab, new { name = "short-lived", scope = "inference" }, HttpStatusCode.Created);
        await SendAsync(b.Http, HttpMethod.Delete, "admin/keys/" + revocable["id"]!.GetValue<string>(), lab, null, HttpStatusCode.OK);
        await SendAsync(a.Http, HttpMethod.Get, "v1/models", revocable["key"]!.GetValue<string>(), null, HttpStatusCode.Unauthorized);

        // Room for one request and a bit: the second fits only if the first was counted nowhere, so after one request
        // on each node the tenant's budget must be spent on both.
        var clinic = await TenantAdminKeyAsync(b, "clinic");
        await SendAsync(a.Http, HttpMethod.Put, "admin/tenants/clinic/limits", SovereignTestServer.AdminKey,
            new { tokens_per_day = tokensPerRequest + 1 }, HttpStatusCode.OK);
        var first = await ChatAsync(a, clinic);
        var second = await ChatAsync(b, clinic);
        var refusedOnA = await ChatAsync(a, clinic, HttpStatusCode.TooManyRequests);
        var refusedOnB = await ChatAsync(b, clinic, HttpStatusCode.TooManyRequests);
        Assert.Equal("tokens_per_day_exceeded", refusedOnA["error"]!["code"]!.GetValue<string>());
        Assert.Equal("tokens_per_day_exceeded", refusedOnB["error"]!["code"]!.GetValue<string>());
        var used = first["usage"]!["total_tokens"]!.GetValue<int>() + second["usage"]!["total_tokens"]!.GetValue<int>();
        Assert.Contains($"used {used}", refusedOnB["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // Every node lists every node's usage rows, intact.
        foreach (var node in new[] { a, b })
        {
            var records = (await SendAsync(node.Http, HttpMethod.Get, "v1/usage", clinic, null, HttpStatusCode.OK))["data"]!.AsArray();
            Assert.Equal(4, records.Count);
            Assert.Equal(["stop", "stop", "rate_limited", "rate_limited"], records.Select(r => r!["outcome"]!.GetValue<string>() is "length" ? "stop" : r["outcome"]!.GetValue<string>()));
            Assert.Equal(used, records.Sum(r => r!["total_tokens"]!.GetValue<int>()));
            Assert.Equal([first["id"]!.GetValue<string>(), second["id"]!.GetValue<string>()],
                records.Take(2).Select(r => r!["request_id"]!.GetValue<string>()));
        }
    }

    [Fact]
    public async Task A_session_signed_in_on_one_node_is_accepted_by_the_other_and_both_extend_one_audit_chain()
    {
        var database = await postgres.Server.CreateDatabaseAsync();
        await using var a = await SovereignTestServer.StartAsync($"--Sovereign:Database={database}");
        await using var b = await SovereignTestServer.StartAsync($"--Sovereign:Database={database}");
        await SendAsync(b.Http, HttpMethod.Post, "admin/users", SovereignTestServer.AdminKey,
            new { username = "nurse.amina", display_name = "Amina", role = "member", password = "a long passphrase" }, HttpStatusCode.Created);

        // Cookies are per host, not per port: the browser would send A's session cookie to B as well.
        var cookies = new CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false });
        // The antiforgery token comes from A, the sign-in goes to B, the session is used on A: one key ring for all.
        var antiforgery = JsonNode.Parse(await browser.GetStringAsync(new Uri(a.BaseAddress, "auth/antiforgery")))!;
        using (var login = new HttpRequestMessage(HttpMethod.Post, new Uri(b.BaseAddress, "auth/login")))
        {
            login.Content = JsonContent.Create(new { username = "nurse.amina", password = "a long passphrase" });
            login.Headers.Add(antiforgery["header_name"]!.GetValue<string>(), antiforgery["token"]!.GetValue<string>());
            using var signedIn = await browser.SendAsync(login);
            Assert.True(signedIn.IsSuccessStatusCode, await signedIn.Content.ReadAsStringAsync());
        }
        using (var me = await browser.GetAsync(new Uri(a.BaseAddress, "auth/me")))
        {
            Assert.Equal(HttpStatusCode.OK, me.StatusCode);
            Assert.Contains("nurse.amina", await me.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Not a key ring both nodes happen to find in this test process's home folder: the one in the shared database.
        await using (var connection = new Npgsql.NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var keys = new Npgsql.NpgsqlCommand("SELECT COUNT(*) FROM data_protection_keys", connection);
            Assert.Equal(1L, await keys.ExecuteScalarAsync());
        }

        await SendAsync(a.Http, HttpMethod.Post, "admin/keys", SovereignTestServer.AdminKey, new { name = "from-a", scope = "inference" }, HttpStatusCode.Created);
        foreach (var node in new[] { a, b })
        {
            var verification = await SendAsync(node.Http, HttpMethod.Get, "admin/audit/verify", SovereignTestServer.AdminKey, null, HttpStatusCode.OK);
            Assert.True(verification["intact"]!.GetValue<bool>(), verification.ToJsonString());
            var actions = (await SendAsync(node.Http, HttpMethod.Get, "admin/audit", SovereignTestServer.AdminKey, null, HttpStatusCode.OK))["data"]!.AsArray()
                .Select(r => r!["action"]!.GetValue<string>()).ToList();
            Assert.Contains("user.created", actions);
            Assert.Contains("key.created", actions);
        }
    }
}
