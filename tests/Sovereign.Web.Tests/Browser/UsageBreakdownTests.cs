using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

/// <summary>The usage page by app and by API key (the groupings GET /v1/usage offers), counting tokens or requests.</summary>
[Collection(WebUiCollection.Name)]
public sealed class UsageBreakdownTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    private static async Task GenerateAsync(HttpClient client, string model) =>
        (await client.PostAsJsonAsync("v1/chat/completions", new
        {
            model,
            messages = new[] { new { role = "user", content = "Hi" } },
            max_tokens = 2,
        })).EnsureSuccessStatusCode();

    [Fact]
    public async Task One_request_through_a_new_apps_key_shows_as_its_own_group_by_app_and_by_key_in_English_and_Persian()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        using var admin = server.Client(WebUiServer.AdminKey);
        var appId = $"meter-app-{tag}";
        var definition = new JsonObject { ["id"] = appId, ["name"] = "Meter", ["model"] = WebUiServer.ChatModel, ["instructions"] = "Answer." };
        (await admin.PostAsJsonAsync("v1/apps", definition)).EnsureSuccessStatusCode();
        (await admin.PostAsync($"v1/apps/{appId}/publish", null)).EnsureSuccessStatusCode();
        // Usage is put down to an app through the key it is used with: a key made for the app.
        using var made = await admin.PostAsJsonAsync("admin/keys", new { name = $"meter-{tag}", scope = "inference", app_id = appId });
        made.EnsureSuccessStatusCode();
        var key = (await made.Content.ReadFromJsonAsync<JsonObject>())!;
        var keyId = key["id"]!.GetValue<string>();
        using (var metered = server.Client(key["key"]!.GetValue<string>())) await GenerateAsync(metered, "app:" + appId);

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("manage/usage");
        await WebUiServer.WaitInteractiveAsync(page);

        await page.Locator("#usage-group").SelectOptionAsync("App");
        var appRow = page.Locator($"#usage-table tr[data-group='{appId}']");
        await Assertions.Expect(appRow.Locator(".usage-requests")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#usage-table thead th").First).ToHaveTextAsync("App");

        await page.Locator("#usage-group").SelectOptionAsync("Key");
        var keyRow = page.Locator($"#usage-table tr[data-group='{keyId}']");
        await Assertions.Expect(keyRow.Locator(".usage-requests")).ToHaveTextAsync("1");
        // Named as on the keys page, not by its id.
        await Assertions.Expect(keyRow.Locator("td").First).ToHaveTextAsync($"meter-{tag}");

        // The chart counts requests or tokens.
        var bar = page.Locator($"#usage-chart li[data-group='{keyId}'] .bar-value");
        var tokens = await bar.InnerTextAsync();
        await page.Locator("#usage-metric").SelectOptionAsync("Requests");
        await Assertions.Expect(bar).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#usage-chart-heading")).ToHaveTextAsync("Requests");
        Assert.True(int.Parse(tokens, System.Globalization.CultureInfo.InvariantCulture) >= 1);

        // In Persian: Persian digits and words, the key still by its name.
        await page.GotoAsync("culture?name=fa&redirect=/manage/usage");
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#usage-group").SelectOptionAsync("Key");
        await Assertions.Expect(keyRow.Locator(".usage-requests")).ToHaveTextAsync("۱");
        await Assertions.Expect(keyRow.Locator("td").First).ToHaveTextAsync($"meter-{tag}");
        await Assertions.Expect(page.Locator("#usage-table thead th").First).ToHaveTextAsync("کلید API");
        await server.CloseContextsAsync();
    }
}
