using System.Formats.Tar;
using System.Text;
using Sovereign.Core.Errors;
using Sovereign.Core.Options;
using Sovereign.Models.Distribution;
using Sovereign.Models.Gguf;
using Sovereign.Models.Store;

namespace Sovereign.Models.Tests.Distribution;

public sealed class ModelBundleTests : IDisposable
{
    private static readonly SyntheticLlamaOptions Tiny = new()
    {
        VocabSize = 260, EmbeddingLength = 32, HeadCount = 2, FeedForwardLength = 32, BlockCount = 1, ContextLength = 512,
    };

    private readonly TempDir _dir = new();
    private readonly FileModelStore _source;
    private readonly FileModelStore _target;

    public ModelBundleTests()
    {
        _source = new FileModelStore(new SovereignPaths(_dir.File("source")));
        _target = new FileModelStore(new SovereignPaths(_dir.File("target")));
    }

    public void Dispose() => _dir.Dispose();

    private string Bundle => _dir.File("bundle.tar");

    private async Task<string> ExportTwoModelsAsync()
    {
        await _source.ImportAsync(TestFiles.Stories260K, ModelName.Parse("stories"), "chatml");
        await _source.ImportAsync(TestFiles.Stories260K, ModelName.Parse("team/stories:v2"));
        var tiny = _dir.File("tiny.gguf");
        SyntheticLlamaModel.Write(tiny, Tiny with { ChatTemplate = "{{ x }}" });
        await _source.ImportAsync(tiny, ModelName.Parse("tiny:q"));
        await ModelBundle.ExportAsync(_source, ["stories", "team/stories:v2", "tiny:q"], Bundle);
        return Bundle;
    }

    [Fact]
    public async Task A_bundled_model_whose_projector_was_not_carried_arrives_without_it_and_still_loads_as_text()
    {
        await _source.ImportAsync(TestFiles.Stories260K, ModelName.Parse("stories"), "chatml");
        var projector = _dir.File("mmproj.gguf");
        SyntheticVisionProjector.Write(projector, new SyntheticVisionOptions { TextEmbeddingLength = 64 });
        await _source.SetProjectorAsync("stories", projector);
        await ModelBundle.ExportAsync(_source, ["stories"], Bundle);

        await ModelBundle.ImportAsync(_target, Bundle);

        var imported = _target.Find("stories")!;
        Assert.Null(imported.ProjectorDigest);
        Assert.Null(imported.ProjectorSize);
        Assert.Equal(_source.Find("stories")!.Digest, imported.Digest);
    }

    /// <summary>Everything under the target's models folder but the lock: what a refused import must not leave.</summary>
    private string[] TargetFiles() => Directory.Exists(_target.Paths.Models)
        ? [.. Directory.GetFileSystemEntries(_target.Paths.Models, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(f => File.Exists(f) && Path.GetFileName(f) != ".lock")]
        : [];

    private async Task<SovereignException> RefusedAsync(string bundle)
    {
        var refused = await Assert.ThrowsAsync<SovereignException>(() => ModelBundle.ImportAsync(_target, bundle));
        Assert.Equal("invalid_bundle", refused.Code);
        Assert.Contains("nothing from it was imported", refused.Message, StringComparison.Ordinal);
        Assert.Empty(_target.List());
        Assert.Empty(TargetFiles());
        return refused;
    }

    /// <summary>Copies the bundle entry by entry, letting <paramref name="edit"/> change, drop (null) or add entries.</summary>
    private string Rewrite(string bundle, Func<string, byte[], byte[]?> edit, IEnumerable<(string Name, byte[] Data)>? extra = null,
        TarEntryType extraType = TarEntryType.RegularFile)
    {
        var output = _dir.File($"edited-{Guid.NewGuid():N}.tar");
        using var input = File.OpenRead(bundle);
        using var reader = new TarReader(input);
        using var file = File.Create(output);
        using var writer = new TarWriter(file, TarEntryFormat.Pax);
        while (reader.GetNextEntry() is { } entry)
        {
            using var data = new MemoryStream();
            entry.DataStream?.CopyTo(data);
            var edited = edit(entry.Name, data.ToArray());
            if (edited is null) continue;
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, entry.Name) { DataStream = new MemoryStream(edited) });
        }
        foreach (var (name, bytes) in extra ?? [])
        {
            var entry = new PaxTarEntry(extraType, name);
            if (extraType == TarEntryType.RegularFile) entry.DataStream = new MemoryStream(bytes);
            else if (extraType is TarEntryType.SymbolicLink or TarEntryType.HardLink) entry.LinkName = Encoding.UTF8.GetString(bytes);
            writer.WriteEntry(entry);
        }
        return output;
    }

    private static byte[] FlipByte(byte[] data, int at)
    {
        var copy = (byte[])data.Clone();
        copy[at] ^= 0x01;
        return copy;
    }

    [Fact]
    public async Task A_good_bundle_round_trips_every_model_with_its_metadata()
    {
        var reports = new List<BundleProgress>();
        await ExportTwoModelsAsync();

        var imported = await ModelBundle.ImportAsync(_target, Bundle, new SyncProgress<BundleProgress>(reports));

        Assert.Equal(["stories:latest", "team/stories:v2", "tiny:q"], imported.Select(m => m.Reference).Order(StringComparer.Ordinal));
        foreach (var original in _source.List())
        {
            var copy = _target.Find(original.Reference);
            Assert.NotNull(copy);
            Assert.Equal(original with { Source = null }, copy with { Source = null });
            Assert.Equal("bundle:" + Bundle, copy.Source);
            Assert.Equal(await File.ReadAllBytesAsync(_source.BlobPath(original.Digest)), await File.ReadAllBytesAsync(_target.BlobPath(copy.Digest)));
            await _target.VerifyAsync(copy);
        }
        Assert.Equal("chatml", _target.Get("stories").ChatTemplateOverride);
        Assert.Equal(2, Directory.GetFiles(_target.Paths.Blobs).Length);
        Assert.False(Directory.Exists(Path.Combine(_target.Paths.Models, ".staging")));
        Assert.Equal(reports.Select(r => r.Done).Order(), reports.Select(r => r.Done));
    }

    [Fact]
    public async Task The_bundle_holds_a_checksum_list_that_sha256sum_can_read_and_one_copy_of_each_blob()
    {
        await ExportTwoModelsAsync();

        using var reader = new TarReader(File.OpenRead(Bundle));
        var names = new List<string>();
        string sums = "";
        while (reader.GetNextEntry() is { } entry)
        {
            names.Add(entry.Name);
            if (entry.Name == ModelBundle.ChecksumFile) sums = new StreamReader(entry.DataStream!).ReadToEnd();
        }

        Assert.Equal(ModelBundle.ChecksumFile, names[0]);
        Assert.Equal(2, names.Count(n => n.StartsWith("blobs/sha256-", StringComparison.Ordinal)));
        Assert.Contains("manifests/team/stories/v2", names);
        Assert.Contains($"{TestFiles.Stories260KSha256}  blobs/sha256-{TestFiles.Stories260KSha256}\n", sums, StringComparison.Ordinal);
        Assert.Equal(names.Count - 1, sums.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task A_bundle_with_one_flipped_byte_in_a_blob_is_refused_whole()
    {
        await ExportTwoModelsAsync();
        var tampered = Rewrite(Bundle, (name, data) => name.Contains(TestFiles.Stories260KSha256, StringComparison.Ordinal) && name.StartsWith("blobs/", StringComparison.Ordinal)
            ? FlipByte(data, data.Length / 2) : data);

        var refused = await RefusedAsync(tampered);

        Assert.Contains($"blobs/sha256-{TestFiles.Stories260KSha256}", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bundle_whose_checksum_list_was_edited_is_refused_whole()
    {
        await ExportTwoModelsAsync();
        var tampered = Rewrite(Bundle, (name, data) => name == ModelBundle.ChecksumFile ? FlipByte(data, 3) : data);

        var refused = await RefusedAsync(tampered);

        Assert.Contains("SHA256SUMS", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blob_and_its_checksum_changed_together_still_fail_because_the_blob_no_longer_matches_its_name()
    {
        await ExportTwoModelsAsync();
        var blobName = $"blobs/sha256-{TestFiles.Stories260KSha256}";
        var bad = FlipByte(await File.ReadAllBytesAsync(TestFiles.Stories260K), 700_000);
        var badHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bad));
        var tampered = Rewrite(Bundle, (name, data) => name == blobName ? bad
            : name == ModelBundle.ChecksumFile ? Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(data).Replace($"{TestFiles.Stories260KSha256}  {blobName}", $"{badHash}  {blobName}", StringComparison.Ordinal))
            : data);

        var refused = await RefusedAsync(tampered);

        Assert.Contains("does not match its name", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_manifest_edited_in_the_bundle_is_refused()
    {
        await ExportTwoModelsAsync();
        var tampered = Rewrite(Bundle, (name, data) => name == "manifests/stories/latest"
            ? Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(data).Replace("chatml", "llama3", StringComparison.Ordinal))
            : data);

        await RefusedAsync(tampered);
    }

    [Fact]
    public async Task A_bundle_missing_a_listed_file_or_the_checksum_list_is_refused()
    {
        await ExportTwoModelsAsync();

        await RefusedAsync(Rewrite(Bundle, (name, data) => name.StartsWith("manifests/tiny", StringComparison.Ordinal) ? null : data));
        await RefusedAsync(Rewrite(Bundle, (name, data) => name == ModelBundle.ChecksumFile ? null : data));
    }

    [Theory]
    [InlineData("../escaped")]
    [InlineData("/tmp/absolute")]
    [InlineData("blobs/../../escaped")]
    [InlineData("manifests/../../escaped/latest")]
    [InlineData("manifests/UPPER/latest")]
    [InlineData("blobs/sha256-ABC")]
    [InlineData("blobs/sha256-270CBA1BD5109F42D03350F60406024560464DB173C0E387D91F0426D3BD256D")]
    [InlineData("readme.txt")]
    [InlineData("manifests/stories\n/latest")]
    [InlineData("blobs/sha256-270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d\n")]
    public async Task Entries_outside_the_bundle_layout_are_refused_and_nothing_is_written_for_them(string entry)
    {
        await ExportTwoModelsAsync();
        var tampered = Rewrite(Bundle, (_, data) => data, [(entry, "boo"u8.ToArray())]);

        var refused = await RefusedAsync(tampered);

        Assert.False(File.Exists(Path.Combine(_target.Paths.Models, "..", "escaped")));
        Assert.False(File.Exists("/tmp/absolute"));
        Assert.DoesNotContain("boo", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TarEntryType.SymbolicLink)]
    [InlineData(TarEntryType.HardLink)]
    public async Task Links_in_a_bundle_are_refused(TarEntryType type)
    {
        await ExportTwoModelsAsync();
        var tampered = Rewrite(Bundle, (_, data) => data, [("manifests/evil/latest", "/etc/passwd"u8.ToArray())], type);

        var refused = await RefusedAsync(tampered);

        Assert.Contains("not a plain file", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Names_of_one_bundle_that_would_share_a_folder_are_refused_whole()
    {
        await ExportTwoModelsAsync();
        var manifest = "";
        var tampered = Rewrite(Bundle, (name, data) =>
        {
            if (name == "manifests/stories/latest") manifest = Encoding.UTF8.GetString(data);
            return data;
        });
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(manifest)));
        tampered = Rewrite(tampered, (name, data) => name == ModelBundle.ChecksumFile
            ? [.. data, .. Encoding.UTF8.GetBytes($"{hash}  manifests/stories/latest/x\n")]
            : data, [("manifests/stories/latest/x", Encoding.UTF8.GetBytes(manifest))]);

        var refused = await Assert.ThrowsAsync<SovereignException>(() => ModelBundle.ImportAsync(_target, tampered));

        Assert.Equal("model_name_conflict", refused.Code);
        Assert.Empty(_target.List());
        Assert.Empty(TargetFiles());
    }

    [Fact]
    public async Task A_truncated_bundle_is_refused()
    {
        await ExportTwoModelsAsync();
        var truncated = _dir.File("truncated.tar");
        var bytes = await File.ReadAllBytesAsync(Bundle);
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length / 2)]);

        await RefusedAsync(truncated);
    }

    [Fact]
    public async Task A_consistent_bundle_whose_blob_is_not_a_usable_gguf_is_refused()
    {
        var junk = Encoding.UTF8.GetBytes(new string('x', 1000));
        var hex = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(junk));
        var manifest = Encoding.UTF8.GetBytes($$"""{"name":"junk","tag":"latest","digest":"sha256:{{hex}}","size":{{junk.Length}}}""");
        var manifestHex = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(manifest));
        var bundle = _dir.File("junk.tar");
        using (var file = File.Create(bundle))
        using (var writer = new TarWriter(file, TarEntryFormat.Pax))
        {
            void Add(string name, byte[] data) => writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            Add(ModelBundle.ChecksumFile, Encoding.UTF8.GetBytes($"{hex}  blobs/sha256-{hex}\n{manifestHex}  manifests/junk/latest\n"));
            Add("manifests/junk/latest", manifest);
            Add($"blobs/sha256-{hex}", junk);
        }

        var refused = await RefusedAsync(bundle);

        Assert.Contains("Invalid GGUF", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exporting_a_model_the_store_lacks_is_a_404_and_writes_no_file()
    {
        await _source.ImportAsync(TestFiles.Stories260K, ModelName.Parse("stories"));

        var missing = await Assert.ThrowsAsync<SovereignException>(() => ModelBundle.ExportAsync(_source, ["stories", "nothere"], Bundle));

        Assert.Equal("model_not_found", missing.Code);
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tar*", new EnumerationOptions { AttributesToSkip = 0 }));
    }

    [Fact]
    public async Task Exporting_a_blob_damaged_in_the_store_fails_and_leaves_no_bundle()
    {
        var model = await _source.ImportAsync(TestFiles.Stories260K, ModelName.Parse("stories"));
        var blob = _source.BlobPath(model.Digest);
        var bytes = await File.ReadAllBytesAsync(blob);
        await File.WriteAllBytesAsync(blob, FlipByte(bytes, 1000));

        var corrupt = await Assert.ThrowsAsync<SovereignException>(() => ModelBundle.ExportAsync(_source, ["stories"], Bundle));

        Assert.Equal("model_corrupt", corrupt.Code);
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tar*", new EnumerationOptions { AttributesToSkip = 0 }));
    }

    [Fact]
    public async Task A_bundle_is_told_from_a_gguf_file_by_its_tar_header()
    {
        await ExportTwoModelsAsync();
        Assert.True(ModelBundle.IsBundle(Bundle));
        Assert.False(ModelBundle.IsBundle(TestFiles.Stories260K));
    }
}

/// <summary>Records reports on the reporting thread (Progress&lt;T&gt; would post them later).</summary>
internal sealed class SyncProgress<T>(List<T> reports) : IProgress<T>
{
    public void Report(T value)
    {
        lock (reports) reports.Add(value);
    }
}
