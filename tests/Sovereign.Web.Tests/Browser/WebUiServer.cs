using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Sovereign.Core.Options;
using Sovereign.Models.Store;
using Sovereign.Server;
using Sovereign.TestSupport.Models;

namespace Sovereign.Web.Tests.Browser;

/// <summary>
/// The real server on 127.0.0.1 (port 0) over a temporary data folder with the real stories260K model (as
/// "stories-chat", with the chatml template it lacks), and Debian's chromium driven headless by Playwright. Every
/// request any page makes is recorded, and any to another host is refused and remembered, so a test can fail on it.
/// </summary>
public sealed class WebUiServer : IAsyncLifetime
{
    public const string AdminKey = "sov-webui-test-admin-0123456789abcdef";
    public const string ChatModel = "stories-chat:latest";

    /// <summary>Debian's chromium; Playwright must never fetch a browser of its own.</summary>
    public const string Chromium = "/usr/bin/chromium";

    private WebApplication _app = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public string Home { get; } = Directory.CreateTempSubdirectory("sov-webui-test-").FullName;
    public Uri Address { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    /// <summary>Every URL any page asked for (HTTP and WebSocket).</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>URLs on another host than the server's: refused, and each one a test failure.</summary>
    public ConcurrentQueue<string> Outside { get; } = new();

    public static string RepoRoot => Sovereign.TestSupport.Models.SharedModels.RepositoryRoot;

    public static string Stories260K => Sovereign.TestSupport.Models.SharedModels.Stories260K;

    /// <summary>Where screenshots go: .test-results/webui/ under the repository (git ignores it).</summary>
    public static string Artifacts { get; } = Path.Combine(RepoRoot, ".test-results", "webui");

    public async Task InitializeAsync()
    {
        var store = new FileModelStore(new SovereignPaths(Home));
        // A long context (the tiny model's header says 2048) so a fixed-length answer streams for seconds: long enough
        // to watch it and to stop it.
        var wide = Path.Combine(Home, "stories260K-16k.gguf");
        TestModelFiles.WriteWithContextLength(Stories260K, wide, 16384);
        await store.ImportAsync(wide, ModelName.Parse(ChatModel), "chatml");
        File.Delete(wide);

        string[] args = ["--urls", "http://127.0.0.1:0", $"--Sovereign:Home={Home}", $"--Sovereign:AdminKey={AdminKey}",
            "--Sovereign:Engine:ContextSize=16384", "--Sovereign:Engine:Slots=4", "--Logging:LogLevel:Default=Warning"];
        _app = SovereignServer.Build(args);
        await _app.StartAsync();
        Address = new Uri(_app.Urls.Single().TrimEnd('/') + "/");
        Http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(2) };

        // The machine running these may be very busy: wait generously, and assert order rather than speed.
        Assertions.SetDefaultExpectTimeout(30_000);
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        });
    }

    public IServiceProvider Services => _app.Services;

    private readonly ConcurrentQueue<IBrowserContext> _contexts = new();

    /// <summary>Closes every page a test opened, so an answer still streaming from a failed test does not hold the engine.</summary>
    public async Task CloseContextsAsync()
    {
        while (_contexts.TryDequeue(out var context)) await context.CloseAsync();
    }

    /// <summary>A page in a fresh browser context (its own cookies, a fresh profile), watched for outside requests.</summary>
    public async Task<IPage> NewPageAsync(string culture = "en", int width = 1280, int height = 900)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Address.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Locale = culture,
        });
        context.SetDefaultTimeout(60_000);
        _contexts.Enqueue(context);
        await context.RouteAsync("**/*", async route =>
        {
            var url = route.Request.Url;
            Requests.Enqueue(url);
            if (IsServer(url))
            {
                await route.ContinueAsync();
            }
            else
            {
                Outside.Enqueue(url);
                await route.AbortAsync();
            }
        });
        var page = await context.NewPageAsync();
        page.WebSocket += (_, socket) =>
        {
            Requests.Enqueue(socket.Url);
            if (!IsServer(socket.Url)) Outside.Enqueue(socket.Url);
        };
        return page;
    }

    public bool IsServer(string url) =>
        url.StartsWith("data:", StringComparison.Ordinal) || url.StartsWith("blob:", StringComparison.Ordinal) || url == "about:blank"
        || (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Host == Address.Host && uri.Port == Address.Port);

    /// <summary>Signs in on the sign-in page with an API key and waits for the chat page.</summary>
    public static async Task SignInAsync(IPage page, string key = AdminKey)
    {
        await page.GotoAsync("signin");
        await page.Locator("#api-key").FillAsync(key);
        await page.Locator("#signin-key-submit").ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("/signin", StringComparison.Ordinal));
    }

    /// <summary>Waits until the page's interactive component is connected over its circuit.</summary>
    public static Task WaitInteractiveAsync(IPage page) =>
        Assertions.Expect(page.Locator("h1[data-interactive=yes]")).ToBeVisibleAsync(new() { Timeout = 30_000 });

    /// <summary>
    /// After a navigation inside the circuit (enhanced navigation), the page whose heading is <paramref name="heading"/>
    /// is interactive. The page left behind can keep its own interactive heading in the DOM for a moment after the
    /// address changed, so waiting for any interactive heading can return before the new page takes input: a message
    /// typed then is lost when the page becomes interactive.
    /// </summary>
    public static Task WaitInteractiveAsync(IPage page, string heading) =>
        Assertions.Expect(page.Locator("h1[data-interactive=yes]")).ToHaveTextAsync(heading, new() { Timeout = 30_000 });

    public HttpClient Client(string key)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(1) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class WebUiCollection : ICollectionFixture<WebUiServer>
{
    public const string Name = "web ui server";
}
