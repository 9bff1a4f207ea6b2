using System.Runtime.CompilerServices;
using Sovereign.Core.Tenancy;
using Sovereign.Models;
using Sovereign.Models.Distribution;
using Sovereign.Models.Store;

namespace Sovereign.Server.Tenancy;

/// <summary>
/// The model store as the server and `sov models` use it: every change (through the Ollama API, the web UI, or the CLI
/// on the data folder with <see cref="CommandLineAuditLog"/>) leaves an audit record once it has succeeded. Reads pass
/// straight through.
/// </summary>
public sealed class AuditedModelStore(IModelStore inner, IAuditLog audit) : IModelStore
{
    public async Task<ModelManifest> ImportAsync(string filePath, ModelName? name = null, string? chatTemplateOverride = null,
        IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        var manifest = await inner.ImportAsync(filePath, name, chatTemplateOverride, progress, cancellationToken);
        // The file's path stays out of the record: it may name people or projects; the digest identifies the bytes.
        await audit.AppendAsync(new AuditEvent(AuditActions.ModelImported, manifest.Reference, $"from a local file, {manifest.Digest}"), CancellationToken.None);
        return manifest;
    }

    public IReadOnlyList<ModelManifest> List() => inner.List();

    public ModelManifest? Find(string reference) => inner.Find(reference);

    public ModelManifest Copy(string source, string destination)
    {
        var manifest = inner.Copy(source, destination);
        Record(new AuditEvent(AuditActions.ModelCopied, manifest.Reference, $"copy of {source}, {manifest.Digest}"));
        return manifest;
    }

    public bool Remove(string reference)
    {
        var found = inner.Find(reference);
        var removed = inner.Remove(reference);
        if (removed) Record(new AuditEvent(AuditActions.ModelRemoved, found?.Reference ?? reference, found?.Digest));
        return removed;
    }

    public ModelManifest SetChatTemplate(string reference, string? template)
    {
        var manifest = inner.SetChatTemplate(reference, template);
        Record(new AuditEvent(AuditActions.SettingsChanged, manifest.Reference, template is null ? "chat template: from the model" : $"chat template: {template}"));
        return manifest;
    }

    public async Task<ModelManifest> SetProjectorAsync(string reference, string? projectorPath, CancellationToken cancellationToken = default)
    {
        var manifest = await inner.SetProjectorAsync(reference, projectorPath, cancellationToken);
        await audit.AppendAsync(new AuditEvent(AuditActions.SettingsChanged, manifest.Reference,
            manifest.ProjectorDigest is { } d ? $"vision projector: {d}" : "vision projector: none"), CancellationToken.None);
        return manifest;
    }

    public string BlobPath(string digest) => inner.BlobPath(digest);

    public Task VerifyAsync(ModelManifest manifest, CancellationToken cancellationToken = default) => inner.VerifyAsync(manifest, cancellationToken);

    // The store's synchronous members are called from request handlers; the append is one short local transaction.
    private void Record(AuditEvent entry) => audit.AppendAsync(entry, CancellationToken.None).GetAwaiter().GetResult();
}

/// <summary>Pulls from the organisation's mirrors, recording each completed pull in the audit log.</summary>
public sealed class AuditedModelPuller(IModelPuller inner, IAuditLog audit) : IModelPuller
{
    public async IAsyncEnumerable<PullProgress> PullAsync(string reference, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? digest = null;
        await foreach (var progress in inner.PullAsync(reference, cancellationToken))
        {
            digest = progress.Digest ?? digest;
            if (progress.Status == "success")
                await audit.AppendAsync(new AuditEvent(AuditActions.ModelPulled, reference, digest is null ? "from a mirror" : $"from a mirror, {digest}"), CancellationToken.None);
            yield return progress;
        }
    }
}
