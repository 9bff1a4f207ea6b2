using System.Text;
using Microsoft.Playwright;

namespace Sovereign.Web.Tests.Browser;

/// <summary>The knowledge page against the real ingestion pipeline and the built-in embedding model.</summary>
[Collection(WebUiCollection.Name)]
public sealed class KnowledgeTests(WebUiServer server) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => server.CloseContextsAsync();

    private const string Handbook = """
        # Staff handbook

        ## Parking

        Night shift workers park free of charge after seven in the evening. Day staff buy a monthly permit.

        ## Pharmacy

        The hospital pharmacy opens at eight and closes at twenty hours on weekdays.
        """;

    /// <summary>
    /// Chooses files in the upload input once Blazor has wired it. The input is rendered with the selected base, and
    /// Blazor attaches its change listener only after that render, through JS interop: files chosen in between (which
    /// a script can do, a person cannot) are never read. A clean-clone CI run saw exactly that once.
    /// </summary>
    private static async Task ChooseFilesAsync(IPage page, FilePayload file)
    {
        await page.WaitForFunctionAsync("() => document.getElementById('kb-upload')?._blazorInputFileNextFileId !== undefined");
        await page.Locator("#kb-upload").SetInputFilesAsync(file);
    }

    [Fact]
    public async Task A_document_uploaded_in_the_browser_becomes_ready_and_searchable_and_the_base_can_be_deleted()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("knowledge");
        await WebUiServer.WaitInteractiveAsync(page);

        var name = "handbook-" + Guid.NewGuid().ToString("N")[..6];
        await page.Locator("#kb-name").FillAsync(name);
        await page.Locator("#kb-create").ClickAsync();
        await Assertions.Expect(page.Locator("#kb-selected")).ToHaveAttributeAsync("data-kb-name", name);

        await ChooseFilesAsync(page, new FilePayload { Name = "handbook.md", MimeType = "text/markdown", Buffer = Encoding.UTF8.GetBytes(Handbook) });
        // The status updates by itself (no reload) until ingestion has finished.
        var document = page.Locator("#kb-documents tr[data-document='handbook.md']");
        await Assertions.Expect(document).ToHaveAttributeAsync("data-status", "ready", new() { Timeout = 120_000 });
        await Assertions.Expect(document.Locator(".doc-status")).ToHaveTextAsync("Ready");

        await page.Locator("#kb-query").FillAsync("When does the pharmacy open?");
        await page.Locator("#kb-search").ClickAsync();
        var first = page.Locator("#kb-hits li.passage").First;
        await Assertions.Expect(first).ToHaveAttributeAsync("data-document", "handbook.md");
        await Assertions.Expect(page.Locator("#kb-hits")).ToContainTextAsync("pharmacy opens at eight");

        await page.Locator($"#kb-table tr[data-kb-name='{name}'] button.delete-kb").ClickAsync();
        await Assertions.Expect(page.Locator($"tr[data-kb-name='{name}']")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#kb-selected")).ToHaveCountAsync(0);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_name_the_server_refuses_shows_its_message_and_creates_nothing()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("knowledge");
        await WebUiServer.WaitInteractiveAsync(page);
        await page.Locator("#kb-name").FillAsync("has spaces in it");
        await page.Locator("#kb-create").ClickAsync();
        await Assertions.Expect(page.Locator("#kb-error")).ToContainTextAsync("Invalid 'name'");
        await Assertions.Expect(page.Locator("tr[data-kb-name='has spaces in it']")).ToHaveCountAsync(0);
        await server.CloseContextsAsync();
    }

    [Fact]
    public async Task A_large_upload_shows_a_progress_bar_that_rises_with_the_bytes_received_up_to_the_whole_file()
    {
        var page = await server.NewPageAsync();
        await WebUiServer.SignInAsync(page);
        await page.GotoAsync("knowledge");
        await WebUiServer.WaitInteractiveAsync(page);
        var name = "scans-" + Guid.NewGuid().ToString("N")[..6];
        await page.Locator("#kb-name").FillAsync(name);
        await page.Locator("#kb-create").ClickAsync();
        await Assertions.Expect(page.Locator("#kb-selected")).ToHaveAttributeAsync("data-kb-name", name);

        // Every value the bar shows, as the page shows it.
        await page.EvaluateAsync("""
            () => {
              window.uploadSeen = [];
              new MutationObserver(() => {
                const bar = document.getElementById("kb-upload-progress");
                if (!bar) return;
                const done = Number(bar.dataset.done), seen = window.uploadSeen;
                if (seen.length === 0 || seen[seen.length - 1][0] !== done) seen.push([done, Number(bar.dataset.total)]);
              }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-done"] });
            }
            """);
        // Random bytes: large enough to arrive in many pieces, and quickly refused by ingestion, which is not what this is about.
        var bytes = new byte[3 * 1024 * 1024];
        new Random(11).NextBytes(bytes);
        await ChooseFilesAsync(page, new FilePayload { Name = "scan.bin", MimeType = "application/octet-stream", Buffer = bytes });
        await Assertions.Expect(page.Locator("#kb-documents tr[data-document='scan.bin']")).ToHaveCountAsync(1, new() { Timeout = 120_000 });
        // Done, the bar stays full.
        await Assertions.Expect(page.Locator("#kb-upload-progress")).ToHaveAttributeAsync("data-done", bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator("#kb-uploading")).ToContainTextAsync("Uploaded");

        var seen = await page.EvaluateAsync<long[][]>("() => window.uploadSeen");
        Assert.NotEmpty(seen);
        Assert.All(seen, s => Assert.Equal(bytes.Length, s[1]));
        var done = seen.Select(s => s[0]).ToList();
        Assert.Equal(done.Order(), done);
        Assert.Contains(done, d => d > 0 && d < bytes.Length);
        Assert.Equal(bytes.Length, done[^1]);

        using var admin = server.Client(WebUiServer.AdminKey);
        await admin.DeleteAsync($"v1/knowledge/{name}");
        await server.CloseContextsAsync();
    }
}
