using System.Net;
using System.Net.Http.Json;
using Sovereign.Server.Tests.Infrastructure;
using Sovereign.Server.Tests.Tenancy;

namespace Sovereign.Server.Tests.Auth;

public class WebSignInTests
{
    private const string OwnerPassword = "correct-horse-battery";

    private static Task<TestHost> StartAsync(string? home = null, params string[] settings) =>
        TestHost.StartAsync(home, settings: [$"--Sovereign:Auth:InitialOwnerPassword={OwnerPassword}", .. settings]);

    [Fact]
    public async Task The_first_start_creates_an_owner_whose_password_is_shown_once_and_saved_only_for_the_owner()
    {
        var home = TestHost.NewHome();
        try
        {
            string password;
            await using (var first = await TestHost.StartAsync(home))
            {
                var file = Path.Combine(home, "owner.password");
                password = (await File.ReadAllTextAsync(file)).Trim();
                Assert.Equal(20, password.Length);
                Assert.Contains(first.Console.Lines, l => l.Contains(password, StringComparison.Ordinal) && l.Contains("'owner'", StringComparison.Ordinal));
                if (!OperatingSystem.IsWindows())
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }
            await using var second = await TestHost.StartAsync(home);
            Assert.DoesNotContain(second.Console.Lines, l => l.Contains(password, StringComparison.Ordinal));
            using var browser = new BrowserSession(second);
            using var login = await browser.LoginAsync("owner", password);
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        }
        finally
        {
            TestHost.TryDelete(home);
        }
    }

    [Fact]
    public async Task Signing_in_sets_a_session_cookie_that_me_reads_and_logout_ends()
    {
        await using var host = await StartAsync();
        using var browser = new BrowserSession(host);

        using (var unauthenticated = await browser.Http.GetAsync("auth/me"))
            Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);

        using (var login = await browser.LoginAsync("OWNER", OwnerPassword))
        {
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
            var setCookie = string.Join(";", login.Headers.GetValues("Set-Cookie")).ToLowerInvariant();
            Assert.Contains("sov.session=", setCookie);
            Assert.Contains("httponly", setCookie);
            Assert.Contains("samesite=lax", setCookie);
        }

        var (status, me) = await browser.Http.GetJsonAsync("auth/me");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("owner", me["username"]!.GetValue<string>());
        Assert.Equal("owner", me["role"]!.GetValue<string>());
        Assert.Equal("default", me["tenant_id"]!.GetValue<string>());
        Assert.Equal(["admin"], me["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));

        using (var logout = await browser.SendAsync(HttpMethod.Post, "auth/logout"))
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        using var after = await browser.Http.GetAsync("auth/me");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task Sign_in_and_sign_out_without_the_antiforgery_token_are_refused()
    {
        await using var host = await StartAsync();
        using var browser = new BrowserSession(host);

        using var login = await browser.SendAsync(HttpMethod.Post, "auth/login", new { username = "owner", password = OwnerPassword }, csrf: false);
        Assert.Equal(HttpStatusCode.Forbidden, login.StatusCode);
        Http.AssertOpenAiError(await Http.BodyAsync(login), "permission_error", "csrf_token_invalid");

        // A token from another browser (another antiforgery cookie) does not fit either.
        using var other = new BrowserSession(host);
        var foreign = await other.FetchCsrfTokenAsync();
        await browser.FetchCsrfTokenAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "auth/login") { Content = JsonContent.Create(new { username = "owner", password = OwnerPassword }) };
        request.Headers.Add("X-CSRF-TOKEN", foreign + "x");
        using var mismatched = await browser.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, mismatched.StatusCode);
    }

    [Fact]
    public async Task A_form_post_with_the_token_field_signs_in_and_redirects_to_a_local_return_url_only()
    {
        await using var host = await StartAsync();
        using var browser = new BrowserSession(host);
        var token = await browser.FetchCsrfTokenAsync();

        FormUrlEncodedContent Form(string password, string returnUrl, string? failureUrl = null) => new(new Dictionary<string, string>
        {
            ["username"] = "owner",
            ["password"] = password,
            ["return_url"] = returnUrl,
            ["failure_url"] = failureUrl ?? "",
            ["__RequestVerificationToken"] = token,
        });

        using (var offsite = await browser.Http.PostAsync("auth/login", Form(OwnerPassword, "https://evil.example/")))
            Assert.Equal(HttpStatusCode.BadRequest, offsite.StatusCode);
        using (var wrong = await browser.Http.PostAsync("auth/login", Form("nope-nope-nope", "/chat", "/login")))
        {
            Assert.Equal(HttpStatusCode.Redirect, wrong.StatusCode);
            Assert.Equal("/login?error=invalid_credentials", wrong.Headers.Location!.OriginalString);
        }
        using var ok = await browser.Http.PostAsync("auth/login", Form(OwnerPassword, "/chat"));
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        Assert.Equal("/chat", ok.Headers.Location!.OriginalString);
        var (status, _) = await browser.Http.GetJsonAsync("auth/me");
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Repeated_wrong_passwords_lock_the_account_even_against_the_right_one()
    {
        await using var host = await StartAsync(settings: ["--Sovereign:Auth:MaxFailedSignIns=3", "--Sovereign:Auth:LockoutDuration=00:10:00"]);
        using var browser = new BrowserSession(host);

        for (var i = 0; i < 2; i++)
        {
            using var wrong = await browser.LoginAsync("owner", "wrong-password-" + i);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Http.AssertOpenAiError(await Http.BodyAsync(wrong), "authentication_error", "invalid_credentials");
        }
        using (var third = await browser.LoginAsync("owner", "wrong-password-3"))
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);

        using var right = await browser.LoginAsync("owner", OwnerPassword);
        Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
        Http.AssertOpenAiError(await Http.BodyAsync(right), "rate_limit_error", "account_locked");
        var retry = right.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(retry.TotalSeconds, 500, 600);

        // An unknown user answers exactly like a wrong password, so usernames cannot be probed.
        using var unknown = await browser.LoginAsync("nobody", OwnerPassword);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Http.AssertOpenAiError(await Http.BodyAsync(unknown), "authentication_error", "invalid_credentials");
    }

    [Fact]
    public async Task A_session_acts_with_its_roles_scopes_and_needs_the_token_for_changes()
    {
        await using var host = await StartAsync();
        using var owner = new BrowserSession(host);
        (await owner.LoginAsync("owner", OwnerPassword)).Dispose();

        using (var noToken = await owner.SendAsync(HttpMethod.Post, "admin/users", new { username = "mia", role = "member", password = "mia-password-1" }, csrf: false))
        {
            Assert.Equal(HttpStatusCode.Forbidden, noToken.StatusCode);
            Http.AssertOpenAiError(await Http.BodyAsync(noToken), "permission_error", "csrf_token_invalid");
        }
        using (var created = await owner.SendAsync(HttpMethod.Post, "admin/users", new { username = "mia", role = "member", password = "mia-password-1" }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        using var member = new BrowserSession(host);
        (await member.LoginAsync("mia", "mia-password-1")).Dispose();
        using (var forbidden = await member.Http.GetAsync("admin/users"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
            Http.AssertOpenAiError(await Http.BodyAsync(forbidden), "permission_error", "insufficient_scope");
        }
        using (var models = await member.Http.GetAsync("v1/models"))
            Assert.Equal(HttpStatusCode.OK, models.StatusCode);

        // Disabling the user ends their session at its next request.
        var (_, list) = await owner.Http.GetJsonAsync("admin/users");
        var miaId = list["data"]!.AsArray().Single(u => u!["username"]!.GetValue<string>() == "mia")!["id"]!.GetValue<string>();
        using (var disabled = await owner.SendAsync(HttpMethod.Delete, $"admin/users/{miaId}"))
            Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        using var gone = await member.Http.GetAsync("auth/me");
        Assert.Equal(HttpStatusCode.Unauthorized, gone.StatusCode);
    }

    [Fact]
    public async Task Service_accounts_cannot_sign_in_and_act_through_keys_made_for_them()
    {
        await using var host = await StartAsync();
        var admin = host.AdminClient();
        using var created = await admin.PostAsJsonAsync("admin/users", new { username = "ingest-bot", kind = "service", role = "developer" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var bot = await Http.BodyAsync(created);
        Assert.Equal("service", bot["kind"]!.GetValue<string>());
        Assert.False(bot["has_password"]!.GetValue<bool>());

        using (var withPassword = await admin.PostAsJsonAsync("admin/users", new { username = "bot2", kind = "service", password = "some-password-1" }))
            Assert.Equal(HttpStatusCode.BadRequest, withPassword.StatusCode);

        using var keyResponse = await admin.PostAsJsonAsync("admin/keys", new { name = "bot key", scope = "inference knowledge.read", user_id = bot["id"]!.GetValue<string>() });
        Assert.Equal(HttpStatusCode.Created, keyResponse.StatusCode);
        var key = await Http.BodyAsync(keyResponse);
        Assert.Equal(bot["id"]!.GetValue<string>(), key["user_id"]!.GetValue<string>());
        Assert.Equal("inference knowledge.read", key["scope"]!.GetValue<string>());

        using var browser = new BrowserSession(host);
        using var login = await browser.LoginAsync("ingest-bot", "anything-at-all");
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
    }

    [Fact]
    public async Task Oidc_sign_in_is_off_unless_configured()
    {
        await using var host = await StartAsync();
        using var browser = new BrowserSession(host);
        using var response = await browser.Http.GetAsync("auth/oidc/login?return_url=/");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Http.AssertOpenAiError(await Http.BodyAsync(response), "invalid_request_error", "oidc_not_configured");
    }

    [Fact]
    public async Task Configured_oidc_sign_in_redirects_to_the_providers_authorization_endpoint()
    {
        // A provider on this machine (served by a second real server): discovery is fetched through the allow-list.
        await using var idp = await FakeIdentityProvider.StartAsync();
        await using var host = await StartAsync(settings:
        [
            $"--Sovereign:Auth:Oidc:Authority={idp.Authority}", "--Sovereign:Auth:Oidc:ClientId=sovereign", "--Sovereign:Auth:Oidc:AllowHttp=true",
        ]);
        using var browser = new BrowserSession(host);
        using var response = await browser.Http.GetAsync("auth/oidc/login?return_url=/chat");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.StartsWith(idp.Authority + "/authorize", location.ToString(), StringComparison.Ordinal);
        Assert.Contains("client_id=sovereign", location.Query, StringComparison.Ordinal);
        Assert.Contains("code_challenge=", location.Query, StringComparison.Ordinal);
        Assert.Contains(Uri.EscapeDataString("/auth/oidc/callback"), location.Query, StringComparison.Ordinal);
    }
}
