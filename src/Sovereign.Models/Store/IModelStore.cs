namespace Sovereign.Models.Store;

/// <summary>
/// The content-addressed model store under $SOV_HOME/models. Reads go to disk every time, so a CLI and a
/// server sharing one data folder see each other's changes at once. Thread-safe and safe across processes:
/// blobs and manifests are written to a temporary file, fsynced, then renamed.
/// </summary>
public interface IModelStore
{
    /// <summary>
    /// Validates the GGUF header (refusing a bad file with a 400 naming what is wrong, leaving nothing behind),
    /// copies it into a blob named by its SHA-256 (once, however often it is imported) and writes the manifest.
    /// Name defaults to the file name without extension, tag to latest.
    /// </summary>
    Task<ModelManifest> ImportAsync(string filePath, ModelName? name = null, string? chatTemplateOverride = null,
        IProgress<double>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>All manifests, sorted by name then tag.</summary>
    IReadOnlyList<ModelManifest> List();

    /// <summary>By <c>name[:tag]</c>; null when absent or when the reference is not a valid name.</summary>
    ModelManifest? Find(string reference);

    /// <summary>
    /// Gives the model <paramref name="source"/> a second name, <paramref name="destination"/>: a new manifest pointing at
    /// the same blob (no bytes copied), written atomically like every manifest; an existing destination is replaced
    /// (its old blob removed when nothing else uses it). 404 when the source is absent, 400 for an invalid name, 409
    /// when the destination's name would share a folder with another model's.
    /// </summary>
    ModelManifest Copy(string source, string destination);

    /// <summary>Removes the manifest and, when no other manifest uses it, the blob. False when absent.</summary>
    bool Remove(string reference);

    /// <summary>Sets or clears (null) the chat template override; throws 404 when the model is absent, 400 for an unknown template name.</summary>
    ModelManifest SetChatTemplate(string reference, string? template);

    /// <summary>
    /// Imports <paramref name="projectorPath"/> as the model's vision projector (a GGUF whose architecture is
    /// <c>clip</c>, kept as a content-addressed blob like the model), or removes it (null). 404 when the model is absent,
    /// 400 for a file that is not a projector. Whether it fits the model is checked when the model is loaded.
    /// </summary>
    Task<ModelManifest> SetProjectorAsync(string reference, string? projectorPath, CancellationToken cancellationToken = default);

    /// <summary>Absolute path of a blob by digest.</summary>
    string BlobPath(string digest);

    /// <summary>Re-hashes the blob and throws (500, code <c>model_corrupt</c>) when it no longer matches its digest.</summary>
    Task VerifyAsync(ModelManifest manifest, CancellationToken cancellationToken = default);
}
