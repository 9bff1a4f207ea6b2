using System.Net;
using System.Security.Cryptography;
using System.Text;
using Sovereign.Core.Errors;
using Sovereign.Core.Options;
using Sovereign.Models.Distribution;
using Sovereign.Models.Store;

namespace Sovereign.Models.Tests.Distribution;

public sealed class FileModelPullerTests : IAsyncLifetime
{
    private static readonly byte[] Stories = File.ReadAllBytes(TestFiles.Stories260K);
    private static readonly string StoriesDigest = "sha256:" + TestFiles.Stories260KSha256;

    private readonly TempDir _dir = new();
    private readonly FileModelStore _store;
    private FakeMirror _mirror = null!;

    public FileModelPullerTests() => _store = new FileModelStore(new SovereignPaths(Path.Combine(_dir.Path, "home")));

    public async Task InitializeAsync() => _mirror = await FakeMirror.StartAsync();

    public async Task DisposeAsync()
    {
        await _mirror.DisposeAsync();
        _dir.Dispose();
    }

    private FileModelPuller Puller(params Uri[] mirrors) => Puller(new MirrorSettings { Mirrors = mirrors.Length == 0 ? [_mirror.Address] : mirrors });

    private FileModelPuller Puller(MirrorSettings settings, HttpMessageHandler? transport = null) =>
        new(_store, settings with { Timeout = TimeSpan.FromSeconds(10) }, transport: transport);

    private static async Task<List<PullProgress>> PullAsync(FileModelPuller puller, string reference, CancellationToken cancellationToken = default)
    {
        var reports = new List<PullProgress>();
        await foreach (var p in puller.PullAsync(reference, cancellationToken)) reports.Add(p);
        return reports;
    }

    private static async Task<SovereignException> PullFailsAsync(FileModelPuller puller, string reference)
    {
        var failure = await Record.ExceptionAsync(() => PullAsync(puller, reference));
        return Assert.IsAssignableFrom<SovereignException>(failure);
    }

    /// <summary>Every file under the models folder except the lock: what a failed pull must not leave behind.</summary>
    private string[] StoreFiles() => Directory.Exists(_store.Paths.Models)
        ? [.. Directory.GetFiles(_store.Paths.Models, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(f => Path.GetFileName(f) != ".lock").Select(f => Path.GetRelativePath(_store.Paths.Models, f))]
        : [];

    private string PartialPath => _store.BlobPath(StoriesDigest) + "-partial";

    [Fact]
    public async Task Pull_verifies_the_blob_writes_the_manifest_and_reports_progress_as_ollama_does()
    {
        var image = _mirror.AddModel("stories", "latest", Stories, new ModelManifest
        {
            Name = "stories", Tag = "latest", Digest = "", Size = 0, Architecture = "llama", ChatTemplateOverride = "chatml", License = "MIT",
            CreatedAt = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
        });
        using var puller = Puller();

        var reports = await PullAsync(puller, "stories");

        var manifest = _store.Find("stories:latest");
        Assert.NotNull(manifest);
        Assert.Equal(StoriesDigest, manifest.Digest);
        Assert.Equal(Stories.Length, manifest.Size);
        Assert.Equal("llama", manifest.Architecture);
        Assert.Equal("chatml", manifest.ChatTemplateOverride);
        Assert.Equal("MIT", manifest.License);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), manifest.CreatedAt);
        Assert.Equal($"{_mirror.Address.ToString().TrimEnd('/')}/stories:latest", manifest.Source);
        Assert.Equal(Stories, await File.ReadAllBytesAsync(_store.BlobPath(StoriesDigest)));
        await _store.VerifyAsync(manifest);
        Assert.DoesNotContain(StoreFiles(), f => f.EndsWith("-partial", StringComparison.Ordinal));

        Assert.Equal("pulling manifest", reports[0].Status);
        Assert.Equal(["verifying sha256 digest", "writing manifest", "success"], reports.TakeLast(3).Select(r => r.Status));
        var blob = reports.Where(r => r.Digest == StoriesDigest).ToList();
        Assert.All(blob, r => Assert.Equal($"pulling {TestFiles.Stories260KSha256[..12]}", r.Status));
        Assert.All(blob, r => Assert.Equal(Stories.Length, r.Total));
        Assert.Equal(0, blob[0].Completed);
        Assert.Equal(Stories.Length, blob[^1].Completed);
        Assert.Equal(blob.Select(r => r.Completed).Order(), blob.Select(r => r.Completed));
        Assert.Contains(reports, r => r.Digest == image.ConfigDigest && r.Completed == r.Total);
    }

    [Fact]
    public async Task A_pull_cut_off_midway_keeps_its_partial_blob_and_the_next_pull_resumes_it_with_a_range_request()
    {
        _mirror.AddModel("stories", "latest", Stories);
        _mirror.CutFirstBlobAfter = 300_000;
        using var puller = Puller();

        var cut = await PullFailsAsync(puller, "stories");
        Assert.Equal("pull_interrupted", cut.Code);
        Assert.Contains("resume", cut.Message, StringComparison.Ordinal);
        Assert.Null(_store.Find("stories"));
        Assert.False(File.Exists(_store.BlobPath(StoriesDigest)));
        var kept = new FileInfo(PartialPath).Length;
        Assert.InRange(kept, 1, Stories.Length - 1);

        var reports = await PullAsync(puller, "stories");

        Assert.Equal("success", reports[^1].Status);
        var resumed = _mirror.BlobRequests.Last();
        Assert.Equal($"bytes={kept}-", resumed.Range);
        Assert.Equal(kept, reports.First(r => r.Digest == StoriesDigest).Completed);
        Assert.Equal(Stories, await File.ReadAllBytesAsync(_store.BlobPath(StoriesDigest)));
        Assert.False(File.Exists(PartialPath));
    }

    [Fact]
    public async Task A_cancelled_pull_resumes_where_it_stopped()
    {
        _mirror.AddModel("stories", "latest", Stories);
        _mirror.BlobChunkDelay = TimeSpan.FromMilliseconds(20);
        using var puller = Puller();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var p in puller.PullAsync("stories", cancel.Token))
            {
                if (p.Digest == StoriesDigest && p.Completed > 100_000) await cancel.CancelAsync();
            }
        });
        Assert.Null(_store.Find("stories"));
        var kept = new FileInfo(PartialPath).Length;
        Assert.InRange(kept, 100_000, Stories.Length - 1);

        _mirror.BlobChunkDelay = TimeSpan.Zero;
        await PullAsync(puller, "stories");

        Assert.Equal($"bytes={kept}-", _mirror.BlobRequests.Last().Range);
        Assert.Equal(Stories, await File.ReadAllBytesAsync(_store.BlobPath(StoriesDigest)));
    }

    [Fact]
    public async Task A_mirror_that_ignores_ranges_is_read_again_from_the_first_byte()
    {
        _mirror.AddModel("stories", "latest", Stories);
        _mirror.IgnoreRange = true;
        Directory.CreateDirectory(_store.Paths.Blobs);
        await File.WriteAllBytesAsync(PartialPath, Stories[..50_000]);
        using var puller = Puller();

        await PullAsync(puller, "stories");

        Assert.Equal("bytes=50000-", _mirror.BlobRequests.Last().Range);
        Assert.Equal(Stories, await File.ReadAllBytesAsync(_store.BlobPath(StoriesDigest)));
    }

    [Fact]
    public async Task A_damaged_partial_file_fails_the_digest_check_and_is_discarded()
    {
        _mirror.AddModel("stories", "latest", Stories);
        Directory.CreateDirectory(_store.Paths.Blobs);
        var damaged = Stories[..50_000];
        damaged[10_000] ^= 0x55;
        await File.WriteAllBytesAsync(PartialPath, damaged);
        using var puller = Puller();

        var refused = await PullFailsAsync(puller, "stories");

        Assert.Equal("digest_mismatch", refused.Code);
        Assert.Empty(StoreFiles());
        await PullAsync(puller, "stories");
        Assert.Equal(Stories, await File.ReadAllBytesAsync(_store.BlobPath(StoriesDigest)));
    }

    [Fact]
    public async Task A_corrupted_blob_is_rejected_with_a_clear_message_and_nothing_becomes_visible()
    {
        _mirror.AddModel("stories", "latest", Stories);
        _mirror.CorruptBlobs = true;
        using var puller = Puller();

        var refused = await PullFailsAsync(puller, "stories");

        Assert.Equal("digest_mismatch", refused.Code);
        Assert.Equal(ErrorKind.Unavailable, refused.Kind);
        Assert.Contains("Digest mismatch", refused.Message, StringComparison.Ordinal);
        Assert.Contains(StoriesDigest, refused.Message, StringComparison.Ordinal);
        Assert.Null(_store.Find("stories"));
        Assert.Empty(_store.List());
        Assert.Empty(StoreFiles());
    }

    [Fact]
    public async Task A_blob_longer_than_its_manifest_says_is_rejected()
    {
        _mirror.AddModel("stories", "latest", Stories);
        _mirror.AppendToBlobs = [1, 2, 3];
        using var puller = Puller();

        var refused = await PullFailsAsync(puller, "stories");

        Assert.Equal("digest_mismatch", refused.Code);
        Assert.Empty(StoreFiles());
    }

    [Fact]
    public async Task A_blob_that_matches_its_digest_but_is_not_a_usable_gguf_is_refused_before_it_becomes_visible()
    {
        var junk = Encoding.UTF8.GetBytes(new string('x', 4096));
        _mirror.AddModel("junk", "latest", junk);
        using var puller = Puller();

        var refused = await PullFailsAsync(puller, "junk");

        Assert.Equal("invalid_gguf", refused.Code);
        Assert.Empty(_store.List());
        Assert.Empty(StoreFiles());
    }

    [Theory]
    [InlineData("../evil")]
    [InlineData("a/../../etc/passwd")]
    [InlineData("..")]
    [InlineData("/etc/passwd")]
    [InlineData("/abs:latest")]
    [InlineData("a\\..\\b")]
    [InlineData("C:\\models\\x")]
    [InlineData("a//b")]
    [InlineData("./a")]
    [InlineData("a/.hidden")]
    [InlineData("stories:../../x")]
    [InlineData("stories:a/b")]
    [InlineData("stories:")]
    [InlineData("stories\n")]
    [InlineData("stories:latest\n")]
    [InlineData("")]
    [InlineData("stories:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task Names_that_could_reach_outside_the_store_are_refused_before_any_request(string reference)
    {
        var transport = new RecordingTransport(_ => new HttpResponseMessage(HttpStatusCode.NotFound));
        using var puller = Puller(new MirrorSettings { Mirrors = [new Uri("http://mirror.internal/")] }, transport);

        var refused = await PullFailsAsync(puller, reference);

        Assert.Equal("invalid_model_name", refused.Code);
        Assert.Equal(ErrorKind.InvalidRequest, refused.Kind);
        Assert.Empty(transport.Seen);
        Assert.Empty(StoreFiles());
    }

    [Fact]
    public async Task A_name_longer_than_128_characters_is_refused()
    {
        using var puller = Puller();
        var refused = await PullFailsAsync(puller, new string('a', 129));
        Assert.Equal("invalid_model_name", refused.Code);
        Assert.Empty(_mirror.Requests);
    }

    [Theory]
    [InlineData("sha256:../../../../etc/passwd")]
    [InlineData("sha256:270CBA1BD5109F42D03350F60406024560464DB173C0E387D91F0426D3BD256D")]
    [InlineData("sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256")]
    [InlineData("sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d0")]
    [InlineData("sha512:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d")]
    [InlineData("sha256-270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d")]
    [InlineData("sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256/")]
    [InlineData("/tmp/x")]
    [InlineData("")]
    public async Task Odd_digests_in_a_mirrors_manifest_are_refused_before_any_blob_is_requested(string digest)
    {
        _mirror.AddBlob(Stories);
        _mirror.AddManifest("stories", "latest", $$"""
            {"schemaVersion":2,"mediaType":"{{OciMediaTypes.Manifest}}",
             "layers":[{"mediaType":"{{OciMediaTypes.Model}}","digest":"{{digest}}","size":{{Stories.Length}}}]}
            """);
        using var puller = Puller();

        var refused = await PullFailsAsync(puller, "stories");

        Assert.Equal("invalid_manifest", refused.Code);
        Assert.Contains("not sha256: and 64 lower-case hex digits", refused.Message, StringComparison.Ordinal);
        Assert.Empty(_mirror.BlobRequests);
        Assert.Empty(StoreFiles());
    }

    [Fact]
    public async Task An_odd_config_digest_is_refused_too()
    {
        _mirror.AddBlob(Stories);
        _mirror.AddManifest("stories", "latest", $$"""
            {"schemaVersion":2,"config":{"digest":"sha256:..","size":2},
             "layers":[{"mediaType":"{{OciMediaTypes.Model}}","digest":"{{StoriesDigest}}","size":{{Stories.Length}}}]}
            """);
        using var puller = Puller();

        var refused = await PullFailsAsync(puller, "stories");

        Assert.Contains("sha256:..", refused.Message, StringComparison.Ordinal);
        Assert.Empty(_mirror.BlobRequests);
    }

    [Fact]
    public async Task A_blob_larger_than_the_free_disk_space_is_refused_before_its_first_byte()
    {
        _mirror.AddBlob(Stories);
        _mirror.AddManifest("huge", "latest", $$"""
            {"schemaVersion":2,"layers":[{"mediaType":"{{OciMediaTypes.Model}}","digest":"{{StoriesDigest}}","size":{{1L << 60}}}]}
            """);
        using var puller = Puller();

        var refused = await PullFailsAsync(puller, "huge");

        Assert.Equal("disk_full", refused.Code);
        Assert.Empty(_mirror.BlobRequests);
        Assert.Empty(StoreFiles());
    }

    [Fact]
    public async Task A_manifest_without_exactly_one_model_layer_is_refused()
    {
        _mirror.AddBlob(Stories);
        _mirror.AddManifest("two", "latest", $$"""
            {"schemaVersion":2,"layers":[
              {"mediaType":"{{OciMediaTypes.Model}}","digest":"{{StoriesDigest}}","size":{{Stories.Length}}},
              {"mediaType":"{{OciMediaTypes.Model}}","digest":"{{StoriesDigest}}","size":{{Stories.Length}}}]}
            """);
        _mirror.AddManifest("none", "latest", """{"schemaVersion":2,"layers":[]}""");
        using var puller = Puller();

        Assert.Contains("2 model layers", (await PullFailsAsync(puller, "two")).Message, StringComparison.Ordinal);
        Assert.Contains("0 model layers", (await PullFailsAsync(puller, "none")).Message, StringComparison.Ordinal);
        Assert.Empty(_mirror.BlobRequests);
    }

    [Fact]
    public async Task Registry_layers_beside_the_model_are_allowed_and_a_registry_config_is_read_without_our_metadata()
    {
        var config = Encoding.UTF8.GetBytes("""{"model_format":"gguf","model_family":"llama","architecture":"amd64","os":"linux"}""");
        var template = Encoding.UTF8.GetBytes("{{ .Prompt }}");
        _mirror.AddBlob(Stories);
        _mirror.AddBlob(config);
        _mirror.AddBlob(template);
        _mirror.AddManifest("library/stories", "260k", $$"""
            {"schemaVersion":2,"mediaType":"{{OciMediaTypes.Manifest}}",
             "config":{"mediaType":"{{OciMediaTypes.Config}}","digest":"{{FakeMirror.Digest(config)}}","size":{{config.Length}}},
             "layers":[{"mediaType":"{{OciMediaTypes.Model}}","digest":"{{StoriesDigest}}","size":{{Stories.Length}}},
                       {"mediaType":"{{OciMediaTypes.Template}}","digest":"{{FakeMirror.Digest(template)}}","size":{{template.Length}}}]}
            """);
        using var puller = Puller();

        await PullAsync(puller, "stories:260k");

        var manifest = _store.Find("stories:260k");
        Assert.NotNull(manifest);
        Assert.Equal("llama", manifest.Architecture);
        Assert.Null(manifest.ChatTemplateOverride);
        Assert.EndsWith("/library/stories:260k", manifest.Source, StringComparison.Ordinal);
        Assert.Equal(["/v2/stories/manifests/260k", "/v2/library/stories/manifests/260k"],
            _mirror.Requests.Where(r => r.Path.Contains("/manifests/", StringComparison.Ordinal)).Select(r => r.Path));
    }

    [Fact]
    public async Task Mirrors_are_tried_in_order_and_the_first_that_has_the_model_serves_it()
    {
        await using var second = await FakeMirror.StartAsync();
        second.AddModel("stories", "latest", Stories);
        var closed = new Uri("http://127.0.0.1:1/");
        using var puller = Puller(closed, _mirror.Address, second.Address);

        await PullAsync(puller, "stories");

        Assert.StartsWith(second.Address.ToString().TrimEnd('/'), _store.Get("stories").Source, StringComparison.Ordinal);
        Assert.Contains(_mirror.Requests, r => r.Path == "/v2/stories/manifests/latest");
        Assert.Empty(_mirror.BlobRequests);
    }

    [Fact]
    public async Task A_model_no_mirror_has_is_a_404_naming_the_mirrors_asked()
    {
        using var puller = Puller();
        var missing = await PullFailsAsync(puller, "nothere:v1");
        Assert.Equal(ErrorKind.NotFound, missing.Kind);
        Assert.Equal("model_not_found", missing.Code);
        Assert.Contains(_mirror.Address.ToString().TrimEnd('/'), missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_mirrors_a_pull_says_how_to_configure_one()
    {
        using var puller = Puller(new MirrorSettings());
        var refused = await PullFailsAsync(puller, "stories");
        Assert.Equal("no_mirrors", refused.Code);
        Assert.Contains("SOV_MIRRORS", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_mirror_key_is_sent_as_a_bearer_token_and_a_refusal_says_to_set_it()
    {
        _mirror.AddModel("stories", "latest", Stories);
        _mirror.RequiredKey = "sov-mirror-key-0123456789";

        using (var keyless = Puller())
        {
            var refused = await PullFailsAsync(keyless, "stories");
            Assert.Contains("SOV_MIRROR_KEY", refused.Message, StringComparison.Ordinal);
        }
        using var puller = Puller(new MirrorSettings { Mirrors = [_mirror.Address], Key = "sov-mirror-key-0123456789" });
        await PullAsync(puller, "stories");
        Assert.NotNull(_store.Find("stories"));
    }

    [Fact]
    public async Task A_host_outside_the_mirror_list_is_never_contacted_even_when_a_mirror_redirects_there()
    {
        var image = OciImage.From(new ModelManifest { Name = "m", Tag = "latest", Digest = StoriesDigest, Size = Stories.Length });
        var transport = new RecordingTransport(request => request.RequestUri!.AbsolutePath switch
        {
            "/v2/stories/manifests/latest" => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(image.ManifestBytes) },
            var p when p.EndsWith(image.ConfigDigest, StringComparison.Ordinal) => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(image.ConfigBytes) },
            _ => new HttpResponseMessage(HttpStatusCode.TemporaryRedirect) { Headers = { Location = new Uri("http://elsewhere.example/blob") } },
        });
        using var puller = Puller(new MirrorSettings { Mirrors = [new Uri("http://mirror.internal:5000/")], Key = "secret-key-123456" }, transport);

        var refused = await PullFailsAsync(puller, "stories");

        Assert.Equal("host_not_allowed", refused.Code);
        Assert.Contains("elsewhere.example", refused.Message, StringComparison.Ordinal);
        Assert.NotEmpty(transport.Seen);
        Assert.All(transport.Seen, s => Assert.Equal("mirror.internal", s.Uri.Host));
        Assert.Empty(StoreFiles());
    }

    [Fact]
    public async Task A_redirect_to_an_allowed_host_is_followed_without_the_mirror_key()
    {
        var image = OciImage.From(new ModelManifest { Name = "m", Tag = "latest", Digest = StoriesDigest, Size = Stories.Length });
        var transport = new RecordingTransport(request => (request.RequestUri!.Host, request.RequestUri.AbsolutePath) switch
        {
            ("mirror.internal", "/v2/stories/manifests/latest") => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(image.ManifestBytes) },
            ("mirror.internal", var p) when p.EndsWith(image.ConfigDigest, StringComparison.Ordinal) => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(image.ConfigBytes) },
            ("mirror.internal", _) => new HttpResponseMessage(HttpStatusCode.Found) { Headers = { Location = new Uri("http://cdn.internal/stories.gguf") } },
            ("cdn.internal", _) => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Stories) },
            _ => new HttpResponseMessage(HttpStatusCode.NotFound),
        });
        using var puller = Puller(new MirrorSettings { Mirrors = [new Uri("http://mirror.internal/")], Key = "secret-key-123456", AllowedHosts = ["cdn.internal"] }, transport);

        await PullAsync(puller, "stories");

        Assert.NotNull(_store.Find("stories"));
        Assert.All(transport.Seen.Where(s => s.Uri.Host == "mirror.internal"), s => Assert.Equal("Bearer secret-key-123456", s.Authorization));
        var cdn = Assert.Single(transport.Seen, s => s.Uri.Host == "cdn.internal");
        Assert.Null(cdn.Authorization);
    }

    [Fact]
    public async Task A_blob_the_store_already_has_is_not_downloaded_again()
    {
        await _store.ImportAsync(TestFiles.Stories260K, ModelName.Parse("local"));
        _mirror.AddModel("stories", "latest", Stories);
        using var puller = Puller();

        await PullAsync(puller, "stories");

        Assert.NotNull(_store.Find("stories"));
        Assert.DoesNotContain(_mirror.BlobRequests, r => r.Path.EndsWith(StoriesDigest, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Concurrent_pulls_of_one_model_both_succeed_and_store_it_once()
    {
        _mirror.AddModel("stories", "latest", Stories);
        _mirror.BlobChunkDelay = TimeSpan.FromMilliseconds(2);
        using var puller = Puller();

        await Task.WhenAll(PullAsync(puller, "stories"), PullAsync(puller, "stories:latest"));

        Assert.Equal(["blobs/sha256-" + TestFiles.Stories260KSha256, "manifests/stories/latest"], StoreFiles().Order(StringComparer.Ordinal));
        Assert.Single(_mirror.BlobRequests, r => r.Path.EndsWith(StoriesDigest, StringComparison.Ordinal));
    }

    [Fact]
    public void Mirror_lists_split_at_commas_and_refuse_what_is_not_an_http_base_url()
    {
        var mirrors = MirrorSettings.ParseList([" http://a:8080 , https://b/reg ", "http://a:8080/"]);
        Assert.Equal([new Uri("http://a:8080/"), new Uri("https://b/reg/")], mirrors);

        foreach (var bad in new[] { "ftp://a", "a:8080", "http://user:pw@a", "http://a/?x=1", "/local/path" })
            Assert.Equal("invalid_mirror", Assert.Throws<SovereignException>(() => MirrorSettings.ParseList([bad])).Code);
    }

    [Fact]
    public void Digests_must_be_sha256_and_64_lower_case_hex_digits()
    {
        Assert.True(OciDigest.IsValid(StoriesDigest));
        Assert.False(OciDigest.IsValid(StoriesDigest.ToUpperInvariant()));
        Assert.False(OciDigest.IsValid("sha256:" + new string('a', 63)));
        Assert.False(OciDigest.IsValid("sha256:" + new string('a', 64) + "\n"));
        Assert.False(OciDigest.IsValid(" sha256:" + new string('a', 64)));
        Assert.Equal("invalid_digest", Assert.Throws<SovereignException>(() => OciDigest.Require("sha256:../x")).Code);
        Assert.Equal(TestFiles.Stories260KSha256[..12], OciDigest.Short(StoriesDigest));
        Assert.Equal(StoriesDigest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Stories)));
    }
}
