using Sovereign.Core.Errors;
using Sovereign.Core.Options;
using Sovereign.Models.Gguf;
using Sovereign.Models.Store;

namespace Sovereign.Models.Tests.Store;

/// <summary>Copy (Ollama's /api/copy): a second manifest for the same blob, never a second copy of the bytes.</summary>
public sealed class FileModelStoreCopyTests : IDisposable
{
    private static readonly SyntheticLlamaOptions Tiny = new()
    {
        VocabSize = 260, EmbeddingLength = 32, HeadCount = 2, FeedForwardLength = 32, BlockCount = 1, ContextLength = 512,
    };

    private readonly TempDir _dir = new();
    private readonly FileModelStore _store;

    public FileModelStoreCopyTests() => _store = new FileModelStore(new SovereignPaths(Path.Combine(_dir.Path, "home")));

    public void Dispose() => _dir.Dispose();

    private async Task<ModelManifest> ImportAsync(string name, SyntheticLlamaOptions options, string? template = null)
    {
        var path = _dir.File(Guid.NewGuid().ToString("N") + ".gguf");
        SyntheticLlamaModel.Write(path, options);
        return await _store.ImportAsync(path, ModelName.Parse(name), template);
    }

    private string[] Blobs() => Directory.GetFiles(_store.Paths.Blobs);

    [Fact]
    public async Task Copy_names_the_same_blob_and_keeps_the_models_settings()
    {
        var source = await ImportAsync("base", Tiny, "chatml");

        var copy = _store.Copy("base", "team/base-copy:v2");

        Assert.Equal("team/base-copy:v2", copy.Reference);
        Assert.Equal(source.Digest, copy.Digest);
        Assert.Equal("chatml", copy.ChatTemplateOverride);
        Assert.Equal(source.ParameterCount, copy.ParameterCount);
        Assert.Equal(copy, _store.Find("team/base-copy:v2"));
        Assert.Equal(["base:latest", "team/base-copy:v2"], _store.List().Select(m => m.Reference));
        Assert.Single(Blobs());
    }

    [Fact]
    public async Task Removing_the_original_keeps_the_blob_the_copy_uses()
    {
        await ImportAsync("base", Tiny);
        var copy = _store.Copy("base", "copy");

        Assert.True(_store.Remove("base"));

        Assert.True(File.Exists(_store.BlobPath(copy.Digest)));
        await _store.VerifyAsync(_store.Find("copy")!);
    }

    [Fact]
    public async Task Copying_over_an_existing_name_replaces_it_and_drops_its_unused_blob()
    {
        var a = await ImportAsync("a", Tiny);
        var b = await ImportAsync("b", Tiny with { BlockCount = 2 });

        _store.Copy("a", "b");

        Assert.Equal(a.Digest, _store.Find("b")!.Digest);
        Assert.False(File.Exists(_store.BlobPath(b.Digest)));
        Assert.Single(Blobs());
    }

    [Fact]
    public async Task Copy_refuses_an_unknown_source_a_bad_name_and_a_clashing_folder()
    {
        await ImportAsync("base", Tiny);

        var missing = Assert.Throws<SovereignException>(() => _store.Copy("nope", "x"));
        var bad = Assert.Throws<SovereignException>(() => _store.Copy("base", "../escape"));
        var clash = Assert.Throws<SovereignException>(() => _store.Copy("base", "base/latest:x"));

        Assert.Equal(ErrorKind.NotFound, missing.Kind);
        Assert.Equal(ErrorKind.InvalidRequest, bad.Kind);
        Assert.Equal("destination", bad.Param);
        Assert.Equal(ErrorKind.Conflict, clash.Kind);
        Assert.Equal(["base:latest"], _store.List().Select(m => m.Reference));
    }

    [Fact]
    public async Task Copying_a_model_onto_itself_changes_nothing()
    {
        var source = await ImportAsync("base", Tiny);

        Assert.Equal(source, _store.Copy("base:latest", "base"));
        Assert.Single(_store.List());
    }
}
