using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace Sovereign.Cli.Tests;

/// <summary>An operator sets up an organisation from the shell: `sov tenants` and `sov users` against a running server.</summary>
public sealed partial class TenantsAndUsersCommandTests : IAsyncLifetime
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "sov-tenants-" + Guid.NewGuid().ToString("N")[..8]);
    private SovServer _server = null!;

    private Dictionary<string, string> Env => new() { ["SOV_HOME"] = _home, ["SOV_URL"] = _server.Url };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_home);
        _server = await SovServer.StartAsync(new Dictionary<string, string> { ["SOV_HOME"] = _home });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<Sov.Result> Ok(params string[] args)
    {
        var result = await Sov.RunAsync(Env, args);
        Assert.True(result.ExitCode == 0, $"sov {string.Join(' ', args)}: {result.Output}");
        return result;
    }

    private static string[] Row(string table, string containing) =>
        table.Split('\n').Single(l => l.Contains(containing, StringComparison.Ordinal))
            .Split('│', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task A_tenant_is_created_listed_and_its_limits_changed_one_at_a_time()
    {
        await Ok("tenants", "create", "city-hospital", "--name", "City Hospital", "--weight", "3");
        Assert.Equal(["city-hospital", "City Hospital", "3"], Row((await Ok("tenants", "list")).Stdout, "city-hospital")[..3]);

        await Ok("tenants", "limits", "city-hospital", "--tokens-per-day", "5000");
        var limits = await Ok("tenants", "limits", "city-hospital", "--requests-per-minute", "60");
        // The second change kept the first: each option changes only its own limit.
        Assert.Equal(["60", "5000", "none", "none"], Row(limits.Stdout, "5000"));

        var cleared = await Ok("tenants", "limits", "city-hospital", "--tokens-per-day", "none");
        Assert.Equal(["60", "none", "none", "none"], Row(cleared.Stdout, "60"));

        await Ok("tenants", "set", "city-hospital", "--weight", "5");
        Assert.Equal("5", Row((await Ok("tenants", "show", "city-hospital")).Stdout, "weight")[1]);
    }

    [Fact]
    public async Task Bad_tenant_input_fails_with_one_line_and_changes_nothing()
    {
        await Ok("tenants", "create", "ministry");
        await Ok("tenants", "limits", "ministry", "--concurrent", "4");

        var notNumber = await Sov.RunAsync(Env, "tenants", "limits", "ministry", "--concurrent", "many");
        Assert.Equal(1, notNumber.ExitCode);
        Assert.Contains("--concurrent must be a whole number", notNumber.Stderr, StringComparison.Ordinal);
        Assert.Single(notNumber.Stderr.Trim().Split('\n'));
        Assert.Equal("4", Row((await Ok("tenants", "limits", "ministry")).Stdout, "none")[3]);

        var badId = await Sov.RunAsync(Env, "tenants", "create", "Not An Id");
        Assert.Equal(1, badId.ExitCode);
        Assert.Contains("id must be", badId.Stderr, StringComparison.Ordinal);

        var missing = await Sov.RunAsync(Env, "tenants", "show", "no-such-tenant");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("No tenant with id 'no-such-tenant'", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disabling_a_service_account_stops_the_keys_made_for_it()
    {
        var created = await Ok("users", "create", "svc-reporting", "--service");
        var userId = UserId().Match(created.Stdout).Groups[1].Value;
        var key = (await Ok("keys", "create", "reporting", "--user", userId)).Stdout.Trim();

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{_server.Url}/v1/models")).StatusCode);

        await Ok("users", "disable", userId);

        using var refused = await http.GetAsync($"{_server.Url}/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("disabled account", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("disabled", Row((await Ok("users", "list")).Stdout, "svc-reporting")[^1]);
    }

    [Fact]
    public async Task A_person_gets_a_password_from_standard_input_signs_in_and_changes_role()
    {
        var created = await Sov.RunWithInputAsync(Env, "a long enough secret\n", "users", "create", "dr-rahimi", "--display-name", "Dr Rahimi", "--role", "developer", "--password-stdin");
        Assert.True(created.ExitCode == 0, created.Output);
        var userId = UserId().Match(created.Stdout).Groups[1].Value;

        // Signing in as a browser does: the antiforgery token first, then the password.
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() });
        var antiforgery = (await http.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"{_server.Url}/auth/antiforgery"))!;
        using var login = new HttpRequestMessage(HttpMethod.Post, $"{_server.Url}/auth/login") { Content = JsonContent.Create(new { username = "dr-rahimi", password = "a long enough secret" }) };
        login.Headers.Add(antiforgery["header_name"]!.GetValue<string>(), antiforgery["token"]!.GetValue<string>());
        using var signIn = await http.SendAsync(login);
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);

        await Ok("users", "set-role", userId, "member");
        Assert.Equal(["dr-rahimi", "Dr Rahimi", "member", "person"], Row((await Ok("users", "list")).Stdout, "dr-rahimi")[1..5]);

        var shortPassword = await Sov.RunWithInputAsync(Env, "short\n", "users", "password", userId);
        Assert.Equal(1, shortPassword.ExitCode);
        Assert.Contains("at least 10 characters", shortPassword.Stderr, StringComparison.Ordinal);

        var noPassword = await Sov.RunAsync(Env, "users", "password", userId);
        Assert.Equal(1, noPassword.ExitCode);
        Assert.Contains("No password on standard input", noPassword.Stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\(id (\S+)\)")]
    private static partial Regex UserId();
}
