using Microsoft.Extensions.DependencyInjection;
using Sovereign.Core.Errors;
using Sovereign.Core.Options;
using Sovereign.Models.Gguf;
using Sovereign.Models.Store;

namespace Sovereign.Models.Tests.Store;

public sealed class FileModelStoreTests : IDisposable
{
    private static readonly SyntheticLlamaOptions Tiny = new()
    {
        VocabSize = 260, EmbeddingLength = 32, HeadCount = 2, FeedForwardLength = 32, BlockCount = 1, ContextLength = 512,
    };

    private readonly TempDir _dir = new();
    private readonly FileModelStore _store;

    public FileModelStoreTests() => _store = new FileModelStore(new SovereignPaths(Path.Combine(_dir.Path, "home")));

    public void Dispose() => _dir.Dispose();

    private SovereignPaths Paths => _store.Paths;

    private string Model(string fileName, SyntheticLlamaOptions? options = null)
    {
        var path = _dir.File(fileName);
        SyntheticLlamaModel.Write(path, options ?? Tiny);
        return path;
    }

    private string[] Blobs() => Directory.Exists(Paths.Blobs)
        ? [.. Directory.GetFiles(Paths.Blobs, "*", new EnumerationOptions { AttributesToSkip = 0 }).Select(Path.GetFileName).OfType<string>()]
        : [];

    private string[] ManifestFiles() => Directory.Exists(Paths.Manifests)
        ? [.. Directory.GetFiles(Paths.Manifests, "*", new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = true })]
        : [];

    private string Projector(string fileName, ulong seed = 1)
    {
        var path = _dir.File(fileName);
        SyntheticVisionProjector.Write(path, new SyntheticVisionOptions { TextEmbeddingLength = Tiny.EmbeddingLength, Seed = seed });
        return path;
    }

    [Fact]
    public async Task A_vision_projector_is_kept_by_digest_beside_its_model_and_goes_when_nothing_names_it()
    {
        await _store.ImportAsync(Model("m.gguf"), ModelName.Parse("m"));
        var model = Assert.Single(Blobs());

        var first = await _store.SetProjectorAsync("m", Projector("p1.gguf"));
        Assert.Equal(new FileInfo(_dir.File("p1.gguf")).Length, first.ProjectorSize);
        Assert.Equal(first.ProjectorDigest, _store.Find("m")!.ProjectorDigest);
        Assert.Equal(2, Blobs().Length);

        // A copy shares the projector; replacing it on one name keeps the blob the other still names.
        _store.Copy("m", "m2");
        var second = await _store.SetProjectorAsync("m", Projector("p2.gguf", seed: 2));
        Assert.NotEqual(first.ProjectorDigest, second.ProjectorDigest);
        Assert.Equal(3, Blobs().Length);

        Assert.True(_store.Remove("m2"));
        Assert.Equal(2, Blobs().Length);
        Assert.Null((await _store.SetProjectorAsync("m", null)).ProjectorDigest);
        Assert.Equal([model], Blobs());

        await _store.SetProjectorAsync("m", Projector("p3.gguf", seed: 3));
        Assert.True(_store.Remove("m"));
        Assert.Empty(Blobs());
    }

    [Fact]
    public async Task A_file_that_is_not_a_clip_projector_is_refused_and_the_model_is_left_as_it_was()
    {
        await _store.ImportAsync(Model("m.gguf"), ModelName.Parse("m"));

        var notClip = await Assert.ThrowsAsync<SovereignException>(() => _store.SetProjectorAsync("m", Model("llama.gguf")));
        var missing = await Assert.ThrowsAsync<SovereignException>(() => _store.SetProjectorAsync("m", _dir.File("nothing.gguf")));
        var noModel = await Assert.ThrowsAsync<SovereignException>(() => _store.SetProjectorAsync("absent", Projector("p.gguf")));

        Assert.Equal("invalid_projector", notClip.Code);
        Assert.Contains("'llama', not 'clip'", notClip.Message, StringComparison.Ordinal);
        Assert.Equal("file_not_found", missing.Code);
        Assert.Equal("model_not_found", noModel.Code);
        Assert.Null(_store.Find("m")!.ProjectorDigest);
        Assert.Single(Blobs());
    }

    [Fact]
    public async Task Import_stores_the_blob_by_digest_and_describes_the_model()
    {
        var path = Model("Tiny-Llama.Q8.gguf", Tiny with { TensorType = GgmlType.Q8_0, ChatTemplate = "{{ x }}" });
        var reports = new List<double>();

        var m = await _store.ImportAsync(path, progress: new SyncProgress(reports));

        Assert.Equal("tiny-llama.q8", m.Name);
        Assert.Equal("latest", m.Tag);
        Assert.Matches("^sha256:[0-9a-f]{64}$", m.Digest);
        Assert.Equal(new FileInfo(path).Length, m.Size);
        Assert.Equal("gguf", m.Format);
        Assert.Equal("llama", m.Architecture);
        Assert.Equal("Q8_0", m.Quantization);
        Assert.Equal(512, m.ContextLength);
        Assert.Equal(SyntheticLlamaModel.CountParameters(Tiny), m.ParameterCount);
        Assert.True(m.HasChatTemplate);
        Assert.Null(m.ChatTemplateOverride);
        Assert.Equal("file:" + Path.GetFullPath(path), m.Source);
        Assert.True(m.CreatedAt > DateTimeOffset.UtcNow.AddMinutes(-1));

        Assert.Equal(["sha256-" + m.Digest[7..]], Blobs().Where(b => b != ".lock"));
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(_store.BlobPath(m.Digest)));
        Assert.Equal(m, _store.Find("tiny-llama.q8"));
        Assert.Equal(m, _store.Find("Tiny-Llama.Q8:latest"));
        Assert.Equal(0, reports[0]);
        Assert.Equal(1, reports[^1]);
        Assert.Equal(reports.Order(), reports);
    }

    [Fact]
    public async Task Importing_the_same_file_twice_or_under_two_names_stores_one_blob()
    {
        var path = Model("m.gguf");
        var a = await _store.ImportAsync(path);
        var again = await _store.ImportAsync(path);
        var b = await _store.ImportAsync(path, ModelName.Parse("other:v1"));

        Assert.Equal(a.Digest, again.Digest);
        Assert.Equal(a.Digest, b.Digest);
        Assert.Single(Blobs(), f => f.StartsWith("sha256-", StringComparison.Ordinal));
        Assert.Equal(["m:latest", "other:v1"], _store.List().Select(x => x.Reference));
    }

    [Fact]
    public async Task The_real_stories260K_model_imports_with_its_published_digest()
    {
        var m = await _store.ImportAsync(TestFiles.Stories260K);

        Assert.Equal("stories260k", m.Name);
        Assert.Equal("sha256:" + TestFiles.Stories260KSha256, m.Digest);
        Assert.Equal(1_185_376, m.Size);
        Assert.Equal("llama", m.Architecture);
        Assert.Equal(2048, m.ContextLength);
        Assert.False(m.HasChatTemplate);
        await _store.VerifyAsync(m);
    }

    [Fact]
    public async Task A_corrupt_file_is_refused_and_leaves_the_store_unchanged()
    {
        await _store.ImportAsync(Model("good.gguf"), ModelName.Parse("good"));
        var blobsBefore = Blobs();
        var manifestsBefore = ManifestFiles();
        var bad = _dir.File("bad.gguf");
        var bytes = File.ReadAllBytes(Model("tmp.gguf"));
        File.WriteAllBytes(bad, bytes[..(bytes.Length / 2)]);

        var e = await Assert.ThrowsAsync<GgufFormatException>(() => _store.ImportAsync(bad));

        Assert.Equal(400, e.HttpStatus);
        Assert.Contains("Invalid GGUF file 'bad.gguf'", e.Message, StringComparison.Ordinal);
        Assert.Equal(blobsBefore, Blobs());
        Assert.Equal(manifestsBefore, ManifestFiles());
        Assert.Null(_store.Find("bad"));
    }

    [Fact]
    public async Task A_file_that_is_not_gguf_at_all_leaves_nothing_behind()
    {
        var path = _dir.File("notes.gguf");
        await File.WriteAllTextAsync(path, "these are not the weights you are looking for");

        await Assert.ThrowsAsync<GgufFormatException>(() => _store.ImportAsync(path));

        Assert.DoesNotContain(Blobs(), b => b != ".lock");
        Assert.Empty(ManifestFiles());
    }

    [Fact]
    public async Task Valid_gguf_that_llama_cpp_cannot_load_is_refused_before_copying()
    {
        var path = _dir.File("nested.gguf");
        await File.WriteAllBytesAsync(path, Gguf.GgufWriterTests.SmallFileWithEveryValueType());

        var e = await Assert.ThrowsAsync<GgufFormatException>(() => _store.ImportAsync(path));

        Assert.Contains("llama.cpp cannot load", e.Message, StringComparison.Ordinal);
        Assert.Empty(Blobs());
        Assert.Empty(_store.List());
    }

    [Fact]
    public async Task A_missing_file_is_a_400_naming_it()
    {
        var e = await Assert.ThrowsAsync<SovereignException>(() => _store.ImportAsync(_dir.File("nope.gguf")));
        Assert.Equal(400, e.HttpStatus);
        Assert.Equal("file_not_found", e.Code);
        Assert.Contains("nope.gguf", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_chat_template_at_import_is_a_400_and_stores_nothing()
    {
        var e = await Assert.ThrowsAsync<SovereignException>(() => _store.ImportAsync(Model("m.gguf"), chatTemplateOverride: "gpt5"));
        Assert.Equal("unknown_chat_template", e.Code);
        Assert.Empty(_store.List());
        Assert.Empty(Blobs());
    }

    [Fact]
    public async Task A_known_chat_template_at_import_is_recorded()
    {
        var m = await _store.ImportAsync(Model("m.gguf"), chatTemplateOverride: "ChatML");
        Assert.Equal("chatml", m.ChatTemplateOverride);
        Assert.Equal("chatml", _store.Find("m")!.ChatTemplateOverride);
    }

    [Fact]
    public async Task Set_chat_template_validates_sets_and_clears()
    {
        await _store.ImportAsync(Model("m.gguf"));

        var unknown = Assert.Throws<SovereignException>(() => _store.SetChatTemplate("m", "bogus"));
        Assert.Equal(400, unknown.HttpStatus);
        Assert.Contains("chatml", unknown.Message, StringComparison.Ordinal);
        Assert.Null(_store.Find("m")!.ChatTemplateOverride);

        Assert.Equal("llama3", _store.SetChatTemplate("m:latest", "llama3").ChatTemplateOverride);
        Assert.Equal("llama3", _store.Find("m")!.ChatTemplateOverride);
        Assert.Null(_store.SetChatTemplate("m", null).ChatTemplateOverride);
        Assert.Null(_store.Find("m")!.ChatTemplateOverride);

        var missing = Assert.Throws<SovereignException>(() => _store.SetChatTemplate("absent", "chatml"));
        Assert.Equal(404, missing.HttpStatus);
        Assert.Equal("model_not_found", missing.Code);
    }

    [Fact]
    public async Task Remove_keeps_a_blob_another_name_still_uses_and_cleans_empty_folders()
    {
        var path = Model("m.gguf");
        var a = await _store.ImportAsync(path, ModelName.Parse("org/team/a"));
        await _store.ImportAsync(path, ModelName.Parse("b"));
        var blob = _store.BlobPath(a.Digest);

        Assert.True(_store.Remove("org/team/a"));
        Assert.True(File.Exists(blob));
        Assert.False(Directory.Exists(Path.Combine(Paths.Manifests, "org")));
        Assert.False(_store.Remove("org/team/a"));

        Assert.True(_store.Remove("b:latest"));
        Assert.False(File.Exists(blob));
        Assert.Empty(_store.List());
        Assert.False(_store.Remove("not a name"));
    }

    [Fact]
    public async Task Reimporting_a_name_with_another_file_drops_the_old_blob_when_unused()
    {
        var first = await _store.ImportAsync(Model("one.gguf"), ModelName.Parse("m"));
        var second = await _store.ImportAsync(Model("two.gguf", Tiny with { Seed = 99 }), ModelName.Parse("m"));

        Assert.NotEqual(first.Digest, second.Digest);
        Assert.False(File.Exists(_store.BlobPath(first.Digest)));
        Assert.True(File.Exists(_store.BlobPath(second.Digest)));
        Assert.Equal(second.Digest, _store.Find("m")!.Digest);
    }

    [Fact]
    public async Task Verify_detects_a_flipped_byte_in_a_blob()
    {
        var m = await _store.ImportAsync(Model("m.gguf"));
        await _store.VerifyAsync(m);
        await _store.VerifyAsync(m); // cached: same length and write time

        var blob = _store.BlobPath(m.Digest);
        using (var stream = new FileStream(blob, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = m.Size - 100;
            var b = stream.ReadByte();
            stream.Position = m.Size - 100;
            stream.WriteByte((byte)(b ^ 0x01));
        }
        // Some file systems keep coarse write times; make sure the change is visible as a change.
        File.SetLastWriteTimeUtc(blob, DateTime.UtcNow.AddSeconds(5));

        var e = await Assert.ThrowsAsync<SovereignException>(() => _store.VerifyAsync(m));
        Assert.Equal(ErrorKind.Internal, e.Kind);
        Assert.Equal("model_corrupt", e.Code);
        Assert.Contains("m:latest", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_detects_a_missing_or_resized_blob()
    {
        var m = await _store.ImportAsync(Model("m.gguf"));
        var blob = _store.BlobPath(m.Digest);
        using (var stream = new FileStream(blob, FileMode.Open, FileAccess.Write)) stream.SetLength(m.Size - 1);
        Assert.Equal("model_corrupt", (await Assert.ThrowsAsync<SovereignException>(() => _store.VerifyAsync(m))).Code);

        File.Delete(blob);
        var e = await Assert.ThrowsAsync<SovereignException>(() => _store.VerifyAsync(m));
        Assert.Contains("missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Leftover_temp_files_are_ignored_and_cleaned_by_the_next_import()
    {
        Directory.CreateDirectory(Paths.Blobs);
        var leftover = Path.Combine(Paths.Blobs, ".import-0123456789abcdef.partial");
        await File.WriteAllBytesAsync(leftover, new byte[1000]);
        var manifestFolder = Path.Combine(Paths.Manifests, "m");
        Directory.CreateDirectory(manifestFolder);
        var manifestTemp = Path.Combine(manifestFolder, ".latest.0123.tmp");
        await File.WriteAllTextAsync(manifestTemp, "{ half a manifest");

        Assert.Empty(_store.List());
        await _store.ImportAsync(Model("m.gguf"));

        Assert.False(File.Exists(leftover));
        Assert.False(File.Exists(manifestTemp));
        Assert.Single(_store.List());
    }

    [Fact]
    public async Task A_temp_file_held_by_a_running_import_is_not_cleaned()
    {
        Directory.CreateDirectory(Paths.Blobs);
        var inFlight = Path.Combine(Paths.Blobs, ".import-fedcba9876543210.partial");
        using (new FileStream(inFlight, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
        {
            await _store.ImportAsync(Model("m.gguf"));
            Assert.True(File.Exists(inFlight));
        }
    }

    [Fact]
    public async Task Concurrent_imports_of_one_file_store_one_blob_and_every_manifest()
    {
        var path = Model("m.gguf", Tiny with { VocabSize = 2000 });
        var stores = Enumerable.Range(0, 4).Select(_ => new FileModelStore(Paths)).ToArray();

        var results = await Task.WhenAll(stores.Select((s, i) => Task.Run(() => s.ImportAsync(path, ModelName.Parse($"m{i}")))));

        Assert.Single(results.Select(r => r.Digest).Distinct());
        Assert.Equal(["sha256-" + results[0].Digest[7..]], Blobs().Where(b => b != ".lock"));
        Assert.Equal(4, _store.List().Count);
        await _store.VerifyAsync(results[0]);
    }

    [Fact]
    public async Task A_name_that_would_share_a_folder_with_another_model_is_a_409()
    {
        var path = Model("m.gguf");
        await _store.ImportAsync(path, ModelName.Parse("a"));
        var e = await Assert.ThrowsAsync<SovereignException>(() => _store.ImportAsync(path, ModelName.Parse("a/latest:x")));
        Assert.Equal(409, e.HttpStatus);
        Assert.Contains("'a:latest'", e.Message, StringComparison.Ordinal);

        await _store.ImportAsync(path, ModelName.Parse("b/c"));
        e = await Assert.ThrowsAsync<SovereignException>(() => _store.ImportAsync(path, ModelName.Parse("b:c")));
        Assert.Equal(409, e.HttpStatus);
        Assert.Equal(["a:latest", "b/c:latest"], _store.List().Select(m => m.Reference));
    }

    [Fact]
    public async Task A_hand_made_name_cannot_escape_the_store()
    {
        var e = await Assert.ThrowsAsync<SovereignException>(() => _store.ImportAsync(Model("m.gguf"), new ModelName("../../evil", "latest")));
        Assert.Equal("invalid_model_name", e.Code);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "evil")));
    }

    [Fact]
    public async Task Changes_by_another_store_instance_are_seen_at_once()
    {
        var other = new FileModelStore(Paths);
        Assert.Empty(_store.List());
        await other.ImportAsync(Model("m.gguf"));
        Assert.NotNull(_store.Find("m"));
        other.Remove("m");
        Assert.Null(_store.Find("m"));
    }

    [Fact]
    public async Task Unreadable_manifests_are_skipped()
    {
        await _store.ImportAsync(Model("m.gguf"));
        Directory.CreateDirectory(Path.Combine(Paths.Manifests, "broken"));
        await File.WriteAllTextAsync(Path.Combine(Paths.Manifests, "broken", "latest"), "not json");

        Assert.Equal(["m:latest"], _store.List().Select(m => m.Reference));
        Assert.Null(_store.Find("broken"));
    }

    [Fact]
    public void Find_returns_null_for_absent_models_and_invalid_references()
    {
        Assert.Null(_store.Find("absent"));
        Assert.Null(_store.Find("../x"));
        Assert.Empty(_store.List());
    }

    [Fact]
    public void Blob_paths_need_a_sha256_digest()
    {
        var hex = new string('a', 64);
        Assert.Equal(Path.Combine(Paths.Blobs, "sha256-" + hex), _store.BlobPath("sha256:" + hex));
        Assert.Equal("invalid_digest", Assert.Throws<SovereignException>(() => _store.BlobPath("sha256:../../x")).Code);
        Assert.Throws<SovereignException>(() => _store.BlobPath("md5:" + hex));
    }

    [Fact]
    public void Get_is_a_404_for_an_absent_model()
    {
        var e = Assert.Throws<SovereignException>(() => _store.Get("absent"));
        Assert.Equal(404, e.HttpStatus);
        Assert.Equal("model_not_found", e.Code);
    }

    [Fact]
    public void The_store_registers_as_a_singleton()
    {
        using var provider = new ServiceCollection().AddModelStore(Paths).BuildServiceProvider();
        var store = provider.GetRequiredService<IModelStore>();
        Assert.IsType<FileModelStore>(store);
        Assert.Same(store, provider.GetRequiredService<IModelStore>());
    }

    private sealed class SyncProgress(List<double> reports) : IProgress<double>
    {
        public void Report(double value)
        {
            lock (reports) reports.Add(value);
        }
    }
}
