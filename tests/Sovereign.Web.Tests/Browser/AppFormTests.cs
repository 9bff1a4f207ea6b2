using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

/// <summary>
/// Editing an app field by field (the JSON/YAML editor being the advanced view of the same draft), with the server's
/// validation next to each field, and deleting an app behind a confirmation.
/// </summary>
[Collection(WebUiCollection.Name)]
public sealed class AppFormTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    private async Task<string> CreateAppAsync(string prefix, JsonObject? extra = null)
    {
        var id = prefix + "-" + Guid.NewGuid().ToString("N")[..6];
        var definition = new JsonObject { ["id"] = id, ["name"] = "Plain", ["model"] = WebUiServer.ChatModel, ["instructions"] = "Answer briefly." };
        foreach (var (k, v) in extra ?? []) definition[k] = v?.DeepClone();
        using var admin = server.Client(WebUiServer.AdminKey);
        using var made = await admin.PostAsJsonAsync("v1/apps", definition);
        Assert.True(made.IsSuccessStatusCode, await made.Content.ReadAsStringAsync());
        return id;
    }

    private async Task<JsonObject> GetAppAsync(string id)
    {
        using var admin = server.Client(WebUiServer.AdminKey);
        return (await admin.GetFromJsonAsync<JsonObject>($"v1/apps/{id}"))!;
    }

    private static string[] Strings(JsonNode? array) => [.. array!.AsArray().Select(n => n!.GetValue<string>())];

    [Fact]
    public async Task Every_field_of_the_form_is_saved_as_the_draft_and_the_advanced_view_edits_that_same_draft()
    {
        var kb = "manuals-" + Guid.NewGuid().ToString("N")[..6];
        string kbId;
        using (var admin = server.Client(WebUiServer.AdminKey))
        {
            using var made = await admin.PostAsJsonAsync("v1/knowledge", new { name = kb });
            made.EnsureSuccessStatusCode();
            kbId = (await made.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        }
        // A field the form has no input for must survive the form's saving.
        var id = await CreateAppAsync("form", new JsonObject
        {
            ["languages"] = new JsonArray("en", "fa"),
            ["translations"] = new JsonObject { ["fa"] = new JsonObject { ["name"] = "میز فرم" } },
        });

        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync($"apps/{id}/edit");
        await WebUiServer.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("#view-form")).ToHaveAttributeAsync("aria-pressed", "true");
        await Assertions.Expect(page.Locator("#app-name")).ToHaveValueAsync("Plain");
        await Assertions.Expect(page.Locator("#app-model-choice")).ToHaveValueAsync(WebUiServer.ChatModel);
        // The built-in tools are offered; none is chosen yet.
        await Assertions.Expect(page.Locator("#app-tools input[value='calculator']")).Not.ToBeCheckedAsync();

        await page.Locator("#app-name").FillAsync("Form desk");
        await page.Locator("#app-description").FillAsync("Answers from the manuals.");
        await page.Locator("#app-languages").FillAsync("en, fa");
        await page.Locator("#app-languages").BlurAsync();
        await page.Locator("#app-instructions-en").FillAsync("Answer from the manuals only.");
        await page.Locator("#app-instructions-fa").FillAsync("فقط از روی راهنماها پاسخ بده.");
        await page.Locator("#app-knowledge-bases label.choice", new() { HasText = kb }).Locator("input").CheckAsync();
        await page.Locator("#app-tools input[value='calculator']").CheckAsync();
        await page.Locator("#app-sampling-temperature").FillAsync("0.4");
        await page.Locator("#app-sampling-max_tokens").FillAsync("64");
        await page.Locator("#app-starters").FillAsync("How do I reset it?\nWhere is the manual?");
        await page.Locator("#app-declined").FillAsync("politics");
        await page.Locator("#app-decline-message").FillAsync("I only answer about the manuals.");
        await page.Locator("#app-mask").UncheckAsync();
        await page.Locator("#save-app").ClickAsync();
        await Assertions.Expect(page.Locator("#app-done")).ToHaveTextAsync("Draft saved.");

        var draft = (await GetAppAsync(id))["draft"]!;
        Assert.Equal("Form desk", draft["name"]!.GetValue<string>());
        Assert.Equal("Answers from the manuals.", draft["description"]!.GetValue<string>());
        Assert.Equal(["en", "fa"], Strings(draft["languages"]));
        Assert.Equal("Answer from the manuals only.", draft["instructions"]!.GetValue<string>());
        Assert.Equal("فقط از روی راهنماها پاسخ بده.", draft["translations"]!["fa"]!["instructions"]!.GetValue<string>());
        Assert.Equal("میز فرم", draft["translations"]!["fa"]!["name"]!.GetValue<string>());
        Assert.Equal([kbId], Strings(draft["knowledge"]!["bases"]));
        Assert.Equal(["calculator"], Strings(draft["tools"]));
        Assert.Equal(0.4, draft["sampling"]!["temperature"]!.GetValue<double>(), 3);
        Assert.Equal(64, draft["sampling"]!["max_tokens"]!.GetValue<int>());
        Assert.Equal(["How do I reset it?", "Where is the manual?"], Strings(draft["starter_questions"]));
        Assert.Equal(["politics"], Strings(draft["guardrails"]!["declined_topics"]));
        Assert.Equal("I only answer about the manuals.", draft["guardrails"]!["decline_message"]!.GetValue<string>());
        Assert.False(draft["guardrails"]!["mask_personal_data"]!.GetValue<bool>());

        // The advanced view is the same draft as text; an unsaved edit there shows in the form, and is what publishes.
        await page.Locator("#view-advanced").ClickAsync();
        var box = page.Locator("#app-definition");
        var text = await box.InputValueAsync();
        Assert.Contains("\"calculator\"", text, StringComparison.Ordinal);
        Assert.Contains("فقط از روی راهنماها", text, StringComparison.Ordinal);
        await box.FillAsync(text.Replace("\"Form desk\"", "\"Renamed as text\"", StringComparison.Ordinal));
        await page.Locator("#view-form").ClickAsync();
        await Assertions.Expect(page.Locator("#app-name")).ToHaveValueAsync("Renamed as text");
        await Assertions.Expect(page.Locator("#app-tools input[value='calculator']")).ToBeCheckedAsync();
        await page.Locator("#publish-app").ClickAsync();
        await Assertions.Expect(page.Locator("#app-done")).ToHaveTextAsync("Published as version 1.");
        var app = await GetAppAsync(id);
        Assert.Equal("Renamed as text", app["live"]!["name"]!.GetValue<string>());
        Assert.Equal(["calculator"], Strings(app["live"]!["tools"]));
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task In_Persian_values_the_schema_refuses_are_shown_next_to_their_fields_and_the_draft_is_untouched()
    {
        var id = await CreateAppAsync("strict");
        var page = await server.NewPageAsync();
        await page.GotoAsync("culture?name=fa&redirect=/signin");
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync($"apps/{id}/edit");
        await WebUiServer.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("label[for='app-sampling-temperature']")).ToHaveTextAsync("دما");
        await Assertions.Expect(page.Locator("#view-advanced")).ToHaveTextAsync("پیشرفته: JSON یا YAML");

        await page.Locator("#app-name").FillAsync("");
        await page.Locator("#app-sampling-temperature").FillAsync("hot");
        await page.Locator("#app-sampling-max_tokens").FillAsync("0");
        await page.Locator("#save-app").ClickAsync();

        await Assertions.Expect(page.Locator("#app-check-fields")).ToHaveTextAsync("سرور این را نپذیرفت: پیام‌های کنار فیلدها را ببینید.");
        await Assertions.Expect(page.Locator("#app-name-error")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#app-name")).ToHaveAttributeAsync("aria-invalid", "true");
        await Assertions.Expect(page.Locator("#app-sampling-temperature-error")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#app-sampling-max_tokens-error")).ToBeVisibleAsync();
        // Fields with nothing wrong say nothing.
        await Assertions.Expect(page.Locator("#app-model-error")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#app-done")).ToHaveCountAsync(0);
        var draft = (await GetAppAsync(id))["draft"]!;
        Assert.Equal("Plain", draft["name"]!.GetValue<string>());
        Assert.Null(draft["sampling"]);

        // A model that is not installed is refused when publishing, next to the model field.
        using (var admin = server.Client(WebUiServer.AdminKey))
        {
            var ghost = new JsonObject { ["name"] = "Plain", ["model"] = "no-such-model:1b", ["instructions"] = "Answer briefly." };
            (await admin.PutAsJsonAsync($"v1/apps/{id}", ghost)).EnsureSuccessStatusCode();
        }
        await page.ReloadAsync();
        await WebUiServer.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("#app-model-choice")).ToHaveValueAsync("no-such-model:1b");
        await page.Locator("#publish-app").ClickAsync();
        await Assertions.Expect(page.Locator("#app-model-error")).ToContainTextAsync("no-such-model:1b");
        Assert.Null((await GetAppAsync(id))["live_version"]);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task An_administrator_deletes_an_app_only_after_confirming_and_a_key_without_admin_cannot()
    {
        var id = await CreateAppAsync("doomed");
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync($"apps/{id}/edit");
        await WebUiServer.WaitInteractiveAsync(page);

        // Asking is not doing: cancelling keeps the app.
        await page.Locator("#delete-app").ClickAsync();
        await Assertions.Expect(page.Locator("#app-delete-question")).ToHaveTextAsync("Delete Plain and all its versions?");
        await page.Locator("#cancel-delete").ClickAsync();
        await Assertions.Expect(page.Locator("#app-delete-confirm")).ToHaveCountAsync(0);
        using var admin = server.Client(WebUiServer.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"v1/apps/{id}")).StatusCode);

        // A key that may only chat never reaches the editor, so it has nothing to delete with.
        using (var made = await admin.PostAsJsonAsync("admin/keys", new { name = "apps-chatter", scope = "inference" }))
        {
            made.EnsureSuccessStatusCode();
            var key = (await made.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
            var other = await server.NewPageAsync();
            await WebUiServer.SignInAsync(other, key);
            await other.GotoAsync($"apps/{id}/edit");
            await other.WaitForURLAsync("**/denied**");
            await Assertions.Expect(other.Locator("#delete-app")).ToHaveCountAsync(0);
        }

        await page.Locator("#delete-app").ClickAsync();
        await page.Locator("#confirm-delete").ClickAsync();
        // The page moves to the gallery inside the circuit (no new document, so no load event to wait for): watch the address.
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/apps$"));
        await WebUiServer.WaitInteractiveAsync(page, "Apps");
        await Assertions.Expect(page.Locator($"#apps li[data-app='{id}']")).ToHaveCountAsync(0);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"v1/apps/{id}")).StatusCode);
        await server.CloseContextsAsync();
    }
}
