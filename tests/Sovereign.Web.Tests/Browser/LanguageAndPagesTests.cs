using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

[Collection(WebUiCollection.Name)]
public sealed class LanguageAndPagesTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    private static readonly string[] SignedInPages = ["", "apps", "knowledge", "manage/models", "manage/keys", "manage/users", "manage/usage", "manage/audit", "manage/health",
        "apps/" + TourApp + "/edit"];

    /// <summary>An app for the editor's page to show, made once through the API.</summary>
    private const string TourApp = "web-tour";

    [Fact]
    public async Task Switching_to_Persian_makes_the_page_right_to_left_in_Persian_and_back()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("dir", "ltr");

        await page.Locator("#lang-fa").ClickAsync();
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("dir", "rtl");
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "fa");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("گفتگو");

        // The choice sticks across pages, and numbers use Persian digits.
        await page.GotoAsync("manage/models");
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("dir", "rtl");
        Assert.Matches("[۰-۹]", await page.Locator("#models-table tbody").InnerTextAsync());

        await page.Locator("#lang-en").ClickAsync();
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("dir", "ltr");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Models");
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task Every_page_in_both_languages_loads_with_no_request_to_another_host_labelled_controls_and_a_screenshot()
    {
        Directory.CreateDirectory(WebUiServer.Artifacts);
        using (var admin = server.Client(WebUiServer.AdminKey))
        {
            var app = new System.Text.Json.Nodes.JsonObject { ["id"] = TourApp, ["name"] = "Tour", ["model"] = WebUiServer.ChatModel, ["instructions"] = "Answer." };
            using var made = await System.Net.Http.Json.HttpClientJsonExtensions.PostAsJsonAsync(admin, "v1/apps", app);
            // Already there when the test runs again against the same server.
            Assert.True(made.IsSuccessStatusCode || made.StatusCode == System.Net.HttpStatusCode.Conflict, await made.Content.ReadAsStringAsync());
        }
        foreach (var (culture, width) in new[] { ("en", 1280), ("fa", 1280), ("en", 390), ("fa", 390) })
        {
            var page = await server.NewPageAsync(width: width, height: width < 600 ? 844 : 900);
            var suffix = width < 600 ? $"{culture}-phone" : culture;
            await page.GotoAsync($"culture?name={culture}&redirect=/signin");
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("dir", culture == "fa" ? "rtl" : "ltr");
            await CheckPageAsync(page, "signin", suffix);

            await page.Locator("#api-key").FillAsync(WebUiServer.AdminKey);
            await page.Locator("#signin-key-submit").ClickAsync();
            await page.WaitForURLAsync(url => !url.Contains("/signin", StringComparison.Ordinal));
            foreach (var path in SignedInPages)
            {
                await page.GotoAsync(path);
                await WebUiServer.WaitInteractiveAsync(page);
                await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
                await CheckPageAsync(page, path.Length == 0 ? "chat" : path.Replace('/', '-'), suffix);
            }
            await server.CloseContextsAsync();
        }

        Assert.NotEmpty(server.Requests);
        Assert.Empty(server.Outside);
    }

    [Fact]
    public async Task The_skip_link_comes_first_in_tab_order_and_moves_focus_to_the_content()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await WebUiServer.WaitInteractiveAsync(page);
        // The page puts focus on its heading (for screen readers); before it, in tab order, the skip link comes first.
        var first = await page.EvaluateAsync<string>("""
            () => [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])')]
                .find(e => !e.disabled).className
            """);
        Assert.Equal("skip-link", first);
        await page.Locator(".skip-link").FocusAsync();
        await Assertions.Expect(page.Locator(".skip-link")).ToBeInViewportAsync();
        await page.Keyboard.PressAsync("Enter");
        Assert.Equal("main", await page.EvaluateAsync<string>("document.activeElement.id"));
        await server.CloseContextsAsync();
    }

    private static async Task CheckPageAsync(IPage page, string name, string suffix)
    {
        // Every form control has a name a screen reader can say: a <label>, aria-label or aria-labelledby.
        var unlabelled = await page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
                .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')
                             && !(e.tagName === 'BUTTON' && e.textContent.trim()))
                .map(e => e.outerHTML.slice(0, 120))
            """);
        Assert.True(unlabelled.Length == 0, $"{name}: unlabelled controls: {string.Join(" | ", unlabelled)}");

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(WebUiServer.Artifacts, $"{name}-{suffix}.png"), FullPage = true });

        // Nothing wider than the screen, so a phone reads it without scrolling sideways (tables scroll in their own box).
        var wide = await page.EvaluateAsync<string[]>("""
            () => {
              // Inside a scroll box an element may be wider than the window without widening the page, unless it is
              // positioned against something outside that box (then the box does not clip it): those are the culprits.
              const clipped = e => {
                if (['absolute', 'fixed'].includes(getComputedStyle(e).position)) return false;
                for (let p = e.parentElement; p && p !== document.body; p = p.parentElement)
                  if (getComputedStyle(p).overflowX !== 'visible') return true;
                return false;
              };
              return document.documentElement.scrollWidth <= window.innerWidth + 1 ? [] :
                [...document.querySelectorAll('body *')].filter(e => { const r = e.getBoundingClientRect(); return (r.right > window.innerWidth + 1 || r.left < -1) && !clipped(e); })
                    .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().width));
            }
            """);
        Assert.True(wide.Length == 0, $"{name} ({suffix}) is wider than the window: {string.Join(" | ", wide)}");
    }
}
