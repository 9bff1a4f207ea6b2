using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

/// <summary>Creating an app from a template, editing its definition with the server's validation, publishing and rolling back.</summary>
[Collection(WebUiCollection.Name)]
public sealed partial class AppEditorTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    [GeneratedRegex("\"name\": \"[^\"]*\"")]
    private static partial Regex TopName();

    /// <summary>The draft with its first (top-level) name replaced, as a person would edit it in the box.</summary>
    private static async Task RenameInBoxAsync(IPage page, string name)
    {
        var box = page.Locator("#app-definition");
        var text = await box.InputValueAsync();
        await box.FillAsync(TopName().Replace(text, $"\"name\": \"{name}\"", 1));
    }

    private async Task<JsonObject> GetAppAsync(string id)
    {
        using var admin = server.Client(WebUiServer.AdminKey);
        return (await admin.GetFromJsonAsync<JsonObject>($"v1/apps/{id}"))!;
    }

    [Fact]
    public async Task An_app_created_from_a_template_is_edited_with_the_servers_validation_published_twice_and_rolled_back()
    {
        var kb = "support-" + Guid.NewGuid().ToString("N")[..6];
        string kbId;
        using (var admin = server.Client(WebUiServer.AdminKey))
        {
            using var made = await admin.PostAsJsonAsync("v1/knowledge", new { name = kb });
            made.EnsureSuccessStatusCode();
            kbId = (await made.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        }
        var id = "desk-" + Guid.NewGuid().ToString("N")[..6];

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("apps");
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#app-template").SelectOptionAsync("customer-support");
        await page.Locator("#app-id").FillAsync(id);
        // The installed model that can chat is offered first, in place of the template's own (not installed here).
        await Assertions.Expect(page.Locator("#app-model")).ToHaveValueAsync(WebUiServer.ChatModel);
        await page.Locator("#app-knowledge").SelectOptionAsync(new SelectOptionValue { Label = kb });
        await page.Locator("#create-app").ClickAsync();
        // Creating moves to the editor inside the circuit (no new document, so no load event to wait for): watch the address.
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/apps/{id}/edit$"));
        await WebUiServer.WaitInteractiveAsync(page, "Customer support desk");
        await Assertions.Expect(page.Locator("#app-versions-none")).ToBeVisibleAsync();
        // This test edits the draft as text: the form's advanced view.
        await page.Locator("#view-advanced").ClickAsync();
        Assert.Contains(kbId, await page.Locator("#app-definition").InputValueAsync(), StringComparison.Ordinal);

        // A field the schema does not know: the server's own message, and the stored draft untouched.
        var box = page.Locator("#app-definition");
        var original = await box.InputValueAsync();
        await box.FillAsync(original.Replace("{", "{ \"colour\": \"blue\",", StringComparison.Ordinal));
        await page.Locator("#save-app").ClickAsync();
        await Assertions.Expect(page.Locator("#app-problems li")).ToContainTextAsync(["unknown field 'colour'"]);
        // Broken syntax says where.
        await box.FillAsync("{ \"name\": ");
        await page.Locator("#save-app").ClickAsync();
        await Assertions.Expect(page.Locator("#app-problems li").First).ToContainTextAsync("not valid JSON");
        Assert.Equal("Customer support desk", (await GetAppAsync(id))["draft"]!["name"]!.GetValue<string>());

        await box.FillAsync(original);
        await RenameInBoxAsync(page, "Support desk one");
        await page.Locator("#publish-app").ClickAsync();
        await Assertions.Expect(page.Locator("#app-done")).ToHaveTextAsync("Published as version 1.");
        await Assertions.Expect(page.Locator("#app-problems")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#app-versions tr[data-version='1']")).ToHaveAttributeAsync("data-live", "yes");

        await RenameInBoxAsync(page, "Support desk two");
        await page.Locator("#save-app").ClickAsync();
        await Assertions.Expect(page.Locator("#app-done")).ToHaveTextAsync("Draft saved.");
        // Saved is not live: the API still answers with version 1 until it is published.
        Assert.Equal("Support desk one", (await GetAppAsync(id))["live"]!["name"]!.GetValue<string>());
        await page.Locator("#publish-app").ClickAsync();
        await Assertions.Expect(page.Locator("#app-done")).ToHaveTextAsync("Published as version 2.");
        await Assertions.Expect(page.Locator("#app-versions tbody tr")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#app-versions tr[data-version='2']")).ToHaveAttributeAsync("data-live", "yes");

        await page.Locator("#app-versions tr[data-version='1'] button.rollback").ClickAsync();
        await Assertions.Expect(page.Locator("#app-done")).ToHaveTextAsync("Version 1 is live again.");
        await Assertions.Expect(page.Locator("#app-versions tr[data-version='1']")).ToHaveAttributeAsync("data-live", "yes");
        await Assertions.Expect(page.Locator("#app-versions tr[data-version='2']")).ToHaveAttributeAsync("data-live", "no");
        var app = await GetAppAsync(id);
        Assert.Equal(1, app["live_version"]!.GetValue<int>());
        Assert.Equal("Support desk one", app["live"]!["name"]!.GetValue<string>());

        // The gallery shows the live version, and its chat page opens.
        await page.GotoAsync("apps");
        await WebUiServer.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator($"#apps li[data-app='{id}'] h2")).ToHaveTextAsync("Support desk one");
        await Assertions.Expect(page.Locator($"#apps li[data-app='{id}'] a.open-app")).ToBeVisibleAsync();
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task In_Persian_publishing_an_app_whose_model_is_missing_shows_the_servers_reason_and_publishes_nothing()
    {
        var id = "ghost-" + Guid.NewGuid().ToString("N")[..6];
        using (var admin = server.Client(WebUiServer.AdminKey))
        {
            var definition = new JsonObject { ["id"] = id, ["name"] = "Ghost", ["model"] = "no-such-model:1b", ["instructions"] = "Answer." };
            (await admin.PostAsJsonAsync("v1/apps", definition)).EnsureSuccessStatusCode();
        }

        var page = await server.NewPageAsync();
        await page.GotoAsync("culture?name=fa&redirect=/signin");
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync($"apps/{id}/edit");
        await WebUiServer.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("dir", "rtl");
        await page.Locator("#view-advanced").ClickAsync();
        // The definition is code: it reads left to right in a right-to-left page.
        await Assertions.Expect(page.Locator("#app-definition")).ToHaveAttributeAsync("dir", "ltr");

        await page.Locator("#publish-app").ClickAsync();
        var problems = page.Locator("#app-problems");
        await Assertions.Expect(problems).ToContainTextAsync("سرور این را نپذیرفت");
        await Assertions.Expect(problems.Locator("li").First).ToContainTextAsync("no-such-model:1b");
        await Assertions.Expect(page.Locator("#app-versions-none")).ToBeVisibleAsync();
        Assert.Null((await GetAppAsync(id))["live_version"]);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_key_without_admin_sees_no_create_form_and_cannot_open_the_editor()
    {
        using var admin = server.Client(WebUiServer.AdminKey);
        var created = await admin.PostAsJsonAsync("admin/keys", new { name = "apps-reader", scope = "inference" });
        created.EnsureSuccessStatusCode();
        var key = (await created.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page, key);
        await page.GotoAsync("apps");
        await WebUiServer.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("#create-app")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("a.edit-app")).ToHaveCountAsync(0);
        await page.GotoAsync("apps/anything/edit");
        await page.WaitForURLAsync("**/denied**");
        await server.CloseContextsAsync();
    }
}
