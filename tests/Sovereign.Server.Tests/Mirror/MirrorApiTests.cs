using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Sovereign.Models.Distribution;
using Sovereign.Models.Store;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Mirror;

/// <summary>The read-only mirror endpoints (<c>/v2/…</c>) of one real server, with the real stories260K model in its store.</summary>
public sealed class MirrorApiTests : IAsyncLifetime
{
    private static readonly string StoriesHex = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(TestFiles.Stories260K)));
    private static readonly string StoriesDigest = "sha256:" + StoriesHex;

    private TestHost _host = null!;
    private ModelManifest _model = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _model = await new FileModelStore(_host.Paths).ImportAsync(TestFiles.Stories260K, ModelName.Parse("stories"), "chatml");
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task The_manifest_lists_the_gguf_as_the_model_layer_and_a_config_carrying_the_stores_metadata()
    {
        var client = _host.AdminClient();

        using var response = await client.GetAsync("v2/stories/manifests/latest");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(OciMediaTypes.Manifest, response.Content.Headers.ContentType?.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), response.Headers.GetValues("Docker-Content-Digest").Single());
        var manifest = JsonNode.Parse(bytes)!;
        Assert.Equal(2, manifest["schemaVersion"]!.GetValue<int>());
        var layer = Assert.Single(manifest["layers"]!.AsArray())!;
        Assert.Equal(OciMediaTypes.Model, layer["mediaType"]!.GetValue<string>());
        Assert.Equal(StoriesDigest, layer["digest"]!.GetValue<string>());
        Assert.Equal(new FileInfo(TestFiles.Stories260K).Length, layer["size"]!.GetValue<long>());

        var configDigest = manifest["config"]!["digest"]!.GetValue<string>();
        using var config = await client.GetAsync($"v2/stories/blobs/{configDigest}");
        Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        var configBytes = await config.Content.ReadAsByteArrayAsync();
        Assert.Equal(configDigest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(configBytes)));
        Assert.Equal(manifest["config"]!["size"]!.GetValue<long>(), configBytes.Length);
        var metadata = JsonNode.Parse(configBytes)!;
        Assert.Equal("gguf", metadata["model_format"]!.GetValue<string>());
        Assert.Equal("llama", metadata["sovereign"]!["architecture"]!.GetValue<string>());
        Assert.Equal("chatml", metadata["sovereign"]!["chatTemplateOverride"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_blob_streams_whole_or_from_an_offset_for_resuming_and_HEAD_gives_its_size()
    {
        var client = _host.AdminClient();
        var file = await File.ReadAllBytesAsync(TestFiles.Stories260K);

        using var whole = await client.GetAsync($"v2/stories/blobs/{StoriesDigest}");
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(file, await whole.Content.ReadAsByteArrayAsync());
        Assert.Equal("bytes", whole.Headers.AcceptRanges.Single());

        using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/stories/blobs/{StoriesDigest}") { Headers = { Range = new RangeHeaderValue(1_000_000, null) } };
        using var rest = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, rest.StatusCode);
        Assert.Equal(1_000_000, rest.Content.Headers.ContentRange!.From);
        Assert.Equal(file.Length, rest.Content.Headers.ContentRange.Length);
        Assert.Equal(file[1_000_000..], await rest.Content.ReadAsByteArrayAsync());

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"v2/stories/blobs/{StoriesDigest}"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(file.Length, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        using var headManifest = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "v2/stories/manifests/latest"));
        Assert.Equal(HttpStatusCode.OK, headManifest.StatusCode);
        Assert.True(headManifest.Content.Headers.ContentLength > 0);
    }

    [Fact]
    public async Task The_api_version_check_answers_and_ollamas_library_namespace_finds_the_model()
    {
        var client = _host.AdminClient();

        using var version = await client.GetAsync("v2/");
        Assert.Equal(HttpStatusCode.OK, version.StatusCode);
        Assert.Equal("{}", await version.Content.ReadAsStringAsync());

        using var library = await client.GetAsync("v2/library/stories/manifests/latest");
        Assert.Equal(HttpStatusCode.OK, library.StatusCode);
        using var blob = await client.GetAsync($"v2/library/stories/blobs/{StoriesDigest}");
        Assert.Equal(HttpStatusCode.OK, blob.StatusCode);
    }

    [Fact]
    public async Task The_mirror_needs_a_key_with_the_mirror_scope_and_admin_has_every_scope()
    {
        var (_, mirrorKey) = await _host.CreateKeyAsync("node-b", "mirror");
        var (_, inferenceKey) = await _host.CreateKeyAsync("app", "inference");
        const string path = "v2/stories/manifests/latest";

        Assert.Equal(HttpStatusCode.Unauthorized, (await _host.Client().GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.Client(mirrorKey).GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.AdminClient().GetAsync(path)).StatusCode);

        var (status, body) = await _host.Client(inferenceKey).GetJsonAsync(path);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        var error = Http.AssertOpenAiError(body, "permission_error", "insufficient_scope");
        Assert.Contains("'mirror' scope", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await _host.Client(inferenceKey).GetAsync($"v2/stories/blobs/{StoriesDigest}")).StatusCode);
    }

    [Fact]
    public async Task A_mirror_key_opens_only_the_mirror()
    {
        var (_, mirrorKey) = await _host.CreateKeyAsync("node-b", "mirror");
        var client = _host.Client(mirrorKey);

        var (models, _) = await client.GetJsonAsync("v1/models");
        var (keys, _) = await client.GetJsonAsync("admin/keys");

        Assert.Equal(HttpStatusCode.Forbidden, models);
        Assert.Equal(HttpStatusCode.Forbidden, keys);
        Assert.Equal(HttpStatusCode.OK, (await _host.AdminClient().GetAsync("v1/models")).StatusCode);
    }

    [Fact]
    public async Task Keys_can_be_created_with_the_mirror_scope_and_unknown_scopes_are_refused()
    {
        var (status, body) = await _host.AdminClient().PostJsonAsync("admin/keys", """{"name":"x","scope":"registry"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("'mirror'", Http.AssertOpenAiError(body, "invalid_request_error", "invalid_value")["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var (created, key) = await _host.AdminClient().PostJsonAsync("admin/keys", """{"name":"x","scope":"mirror"}""");
        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Equal("mirror", key["scope"]!.GetValue<string>());
    }

    [Fact]
    public async Task With_ServeMirror_off_every_mirror_path_is_a_404()
    {
        await using var host = await TestHost.StartAsync(settings: ["--Sovereign:ServeMirror=false"]);
        await host.ImportModelAsync("stories");
        var client = host.AdminClient();

        foreach (var path in new[] { "v2/", "v2/stories/manifests/latest", $"v2/stories/blobs/{StoriesDigest}" })
        {
            using var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("ServeMirror", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("v2/nothere/manifests/latest", HttpStatusCode.NotFound, "MANIFEST_UNKNOWN")]
    [InlineData("v2/stories/manifests/v9", HttpStatusCode.NotFound, "MANIFEST_UNKNOWN")]
    [InlineData("v2/stories/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000", HttpStatusCode.NotFound, "BLOB_UNKNOWN")]
    [InlineData("v2/stories/blobs/sha256:270CBA1BD5109F42D03350F60406024560464DB173C0E387D91F0426D3BD256D", HttpStatusCode.BadRequest, "DIGEST_INVALID")]
    [InlineData("v2/stories/blobs/sha256:..%2F..%2Fsovereign.db", HttpStatusCode.BadRequest, "DIGEST_INVALID")]
    [InlineData("v2/stories/blobs/..%2F..%2Fsovereign.db", HttpStatusCode.BadRequest, "DIGEST_INVALID")]
    [InlineData("v2/..%2F..%2Fetc/manifests/latest", HttpStatusCode.BadRequest, "NAME_INVALID")]
    [InlineData("v2/stories%0A/manifests/latest", HttpStatusCode.BadRequest, "NAME_INVALID")]
    [InlineData("v2/stories/manifests/..%2F..%2Fsovereign.db", HttpStatusCode.BadRequest, "NAME_INVALID")]
    [InlineData("v2/stories/manifests/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", HttpStatusCode.BadRequest, "NAME_INVALID")]
    [InlineData("v2/stories/tags/list", HttpStatusCode.NotFound, "UNSUPPORTED")]
    public async Task Bad_or_unknown_names_and_digests_get_registry_errors_and_nothing_outside_the_store(string path, HttpStatusCode expected, string code)
    {
        using var response = await _host.AdminClient().GetAsync(path);

        Assert.Equal(expected, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]![0]!;
        Assert.Equal(code, error["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_blob_is_served_only_under_the_name_of_a_model_that_uses_it()
    {
        var tiny = Path.Combine(_host.Home, "tiny.gguf");
        Sovereign.Models.Gguf.SyntheticLlamaModel.Write(tiny, new Sovereign.Models.Gguf.SyntheticLlamaOptions
        {
            VocabSize = 260, EmbeddingLength = 32, HeadCount = 2, FeedForwardLength = 32, BlockCount = 1, ContextLength = 512,
        });
        await new FileModelStore(_host.Paths).ImportAsync(tiny, ModelName.Parse("tiny"));

        using var response = await _host.AdminClient().GetAsync($"v2/tiny/blobs/{_model.Digest}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
