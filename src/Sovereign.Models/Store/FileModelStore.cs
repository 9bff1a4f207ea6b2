using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sovereign.Core.Errors;
using Sovereign.Core.Options;
using Sovereign.Models.Gguf;

namespace Sovereign.Models.Store;

/// <summary>
/// <see cref="IModelStore"/> on disk: blobs at <c>models/blobs/sha256-&lt;hex&gt;</c>, manifests as JSON at
/// <c>models/manifests/&lt;name&gt;/&lt;tag&gt;</c>. Every read goes to disk, so processes sharing the folder see each
/// other's changes at once. Every write is a temporary file, fsynced, then renamed; commits and removals hold an
/// OS file lock on the store, so concurrent imports and removals from any number of threads or processes never
/// leave a manifest pointing at a missing blob. Thread-safe.
/// </summary>
public sealed partial class FileModelStore : IModelStore
{
    private const string ImportTempPrefix = ".import-";
    private const string ImportTempSuffix = ".partial";
    private const string ManifestTempSuffix = ".tmp";
    private const int CopyBufferBytes = 1 << 20;

    private static readonly EnumerationOptions IncludeHidden = new() { AttributesToSkip = 0, IgnoreInaccessible = true };

    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    // Successful verifications: a blob whose length and write time are unchanged need not be hashed again.
    private readonly ConcurrentDictionary<string, (long Length, DateTime LastWriteUtc)> _verified = new(StringComparer.Ordinal);

    public FileModelStore(SovereignPaths paths, ILogger<FileModelStore>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        Paths = paths;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    public SovereignPaths Paths { get; }

    public async Task<ModelManifest> ImportAsync(string filePath, ModelName? name = null, string? chatTemplateOverride = null,
        IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(filePath)) throw SovereignException.Invalid("A model file path is required.", "path", "file_not_found");
        var source = Path.GetFullPath(filePath);
        if (!File.Exists(source))
            throw SovereignException.Invalid($"Model file '{filePath}' does not exist or is not a file.", "path", "file_not_found");
        var template = string.IsNullOrWhiteSpace(chatTemplateOverride) ? null : ChatTemplates.Normalize(chatTemplateOverride);
        var modelName = name is null ? ModelName.FromFileName(source) : Checked(name);

        // Refuse a bad file or an unusable name before copying gigabytes.
        LlamaCppCompatibility.Check(ReadHeader(source));
        CheckNameFits(modelName);
        progress?.Report(0);

        Directory.CreateDirectory(Paths.Blobs);
        var tempPath = Path.Combine(Paths.Blobs, $"{ImportTempPrefix}{Guid.NewGuid():N}{ImportTempSuffix}");
        FileStream? temp = null;
        try
        {
            // FileShare.None marks the temp file as in use, so a concurrent import's cleanup leaves it alone.
            temp = new FileStream(tempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, CopyBufferBytes, FileOptions.Asynchronous);
            var hex = await CopyAndHashAsync(source, temp, progress, cancellationToken).ConfigureAwait(false);
            temp.Flush(flushToDisk: true);
            var size = temp.Length;

            // The source may have changed after it was checked; the copy is what gets served, so check the copy.
            temp.Position = 0;
            var header = GgufReader.Read(temp, Path.GetFileName(source));
            LlamaCppCompatibility.Check(header);

            await using var storeLock = await StoreLock.AcquireAsync(Paths.Models, cancellationToken).ConfigureAwait(false);
            CleanAbandonedImports();
            await temp.DisposeAsync().ConfigureAwait(false);
            temp = null;

            var digest = "sha256:" + hex;
            var blobPath = BlobPath(digest);
            if (File.Exists(blobPath) && new FileInfo(blobPath).Length == size)
                File.Delete(tempPath);
            else
                File.Move(tempPath, blobPath, overwrite: true);

            var manifest = new ModelManifest
            {
                Name = modelName.Name,
                Tag = modelName.Tag,
                Digest = digest,
                Size = size,
                Architecture = header.Architecture,
                ParameterCount = header.ParameterCount,
                Quantization = header.Quantization,
                ContextLength = header.ContextLength,
                HasChatTemplate = header.HasChatTemplate,
                ChatTemplateOverride = template,
                License = header.License,
                Source = "file:" + source,
                CreatedAt = _time.GetUtcNow(),
            };
            var previous = ReadManifest(modelName);
            try
            {
                WriteManifest(manifest);
            }
            catch
            {
                DeleteBlobIfUnreferenced(digest);
                throw;
            }
            if (previous is not null) ReleaseBlobsOf(previous);
            progress?.Report(1);
            LogImported(_logger, manifest.Reference, digest, size);
            return manifest;
        }
        finally
        {
            if (temp is not null) await temp.DisposeAsync().ConfigureAwait(false);
            TryDelete(tempPath);
        }
    }

    public IReadOnlyList<ModelManifest> List()
    {
        if (!Directory.Exists(Paths.Manifests)) return [];
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true };
        // A concurrent remove can delete a folder mid-walk; walking again sees the settled state.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var found = new List<ModelManifest>();
                foreach (var file in Directory.EnumerateFiles(Paths.Manifests, "*", options))
                {
                    var reference = ReferenceOf(file);
                    if (!ModelName.TryParse(reference, out var name) || name.ToString() != reference) continue;
                    if (ReadManifest(name) is { } manifest) found.Add(manifest);
                }
                return [.. found.OrderBy(m => m.Name, StringComparer.Ordinal).ThenBy(m => m.Tag, StringComparer.Ordinal)];
            }
            catch (DirectoryNotFoundException) when (attempt < 3)
            {
            }
        }
    }

    public ModelManifest? Find(string reference) =>
        ModelName.TryParse(reference, out var name) ? ReadManifest(name) : null;

    public bool Remove(string reference)
    {
        if (!ModelName.TryParse(reference, out var name)) return false;
        using var storeLock = StoreLock.Acquire(Paths.Models);
        var path = ManifestPath(name);
        if (!File.Exists(path)) return false;
        var manifest = ReadManifest(name);
        File.Delete(path);
        if (manifest is not null) ReleaseBlobsOf(manifest);
        DeleteEmptyManifestFolders(Path.GetDirectoryName(path)!);
        LogRemoved(_logger, name.ToString());
        return true;
    }

    public ModelManifest Copy(string source, string destination)
    {
        var from = ModelName.Parse(source, "source");
        var to = ModelName.Parse(destination, "destination");
        using var storeLock = StoreLock.Acquire(Paths.Models);
        var manifest = ReadManifest(from)
            ?? throw SovereignException.NotFound($"Model '{from}' not found.", "source", "model_not_found");
        if (from == to) return manifest;
        if (!File.Exists(BlobPath(manifest.Digest))) throw Corrupt(manifest, "its blob is missing");

        var copy = manifest with { Name = to.Name, Tag = to.Tag, CreatedAt = _time.GetUtcNow() };
        var previous = ReadManifest(to);
        WriteManifest(copy);
        if (previous is not null) ReleaseBlobsOf(previous);
        LogCopied(_logger, from.ToString(), to.ToString());
        return copy;
    }

    public ModelManifest SetChatTemplate(string reference, string? template)
    {
        var normalized = string.IsNullOrWhiteSpace(template) ? null : ChatTemplates.Normalize(template);
        var name = ModelName.Parse(reference);
        using var storeLock = StoreLock.Acquire(Paths.Models);
        var manifest = ReadManifest(name)
            ?? throw SovereignException.NotFound($"Model '{name}' not found.", "model", "model_not_found");
        var updated = manifest with { ChatTemplateOverride = normalized };
        WriteManifest(updated);
        return updated;
    }

    public async Task<ModelManifest> SetProjectorAsync(string reference, string? projectorPath, CancellationToken cancellationToken = default)
    {
        var name = ModelName.Parse(reference);
        if (ReadManifest(name) is null) throw SovereignException.NotFound($"Model '{name}' not found.", "model", "model_not_found");
        string? digest = null;
        long? size = null;
        if (projectorPath is not null)
        {
            var source = Path.GetFullPath(projectorPath);
            if (!File.Exists(source))
                throw SovereignException.Invalid($"Projector file '{projectorPath}' does not exist or is not a file.", "projector", "file_not_found");
            var header = ReadHeader(source);
            if (!string.Equals(header.Architecture, "clip", StringComparison.Ordinal))
                throw SovereignException.Invalid(
                    $"'{projectorPath}' is not a vision projector: its architecture is '{header.Architecture ?? "(none)"}', not 'clip' (an mmproj GGUF).",
                    "projector", "invalid_projector");
            Directory.CreateDirectory(Paths.Blobs);
            var tempPath = Path.Combine(Paths.Blobs, $"{ImportTempPrefix}{Guid.NewGuid():N}{ImportTempSuffix}");
            try
            {
                await using (var temp = new FileStream(tempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, CopyBufferBytes, FileOptions.Asynchronous))
                {
                    digest = "sha256:" + await CopyAndHashAsync(source, temp, null, cancellationToken).ConfigureAwait(false);
                    temp.Flush(flushToDisk: true);
                    size = temp.Length;
                }
                await using var importLock = await StoreLock.AcquireAsync(Paths.Models, cancellationToken).ConfigureAwait(false);
                var blob = BlobPath(digest);
                if (File.Exists(blob) && new FileInfo(blob).Length == size) File.Delete(tempPath);
                else File.Move(tempPath, blob, overwrite: true);
                return Commit(name, digest, size);
            }
            finally
            {
                TryDelete(tempPath);
            }
        }
        await using var storeLock = await StoreLock.AcquireAsync(Paths.Models, cancellationToken).ConfigureAwait(false);
        return Commit(name, digest, size);

        // Under the store lock: the manifest now names the projector (or none); a projector no longer used goes.
        ModelManifest Commit(ModelName model, string? newDigest, long? newSize)
        {
            var current = ReadManifest(model) ?? throw SovereignException.NotFound($"Model '{model}' not found.", "model", "model_not_found");
            var updated = current with { ProjectorDigest = newDigest, ProjectorSize = newSize };
            WriteManifest(updated);
            if (current.ProjectorDigest is { } old && !string.Equals(old, newDigest, StringComparison.OrdinalIgnoreCase)) DeleteBlobIfUnreferenced(old);
            return updated;
        }
    }

    public string BlobPath(string digest)
    {
        if (digest is null || !DigestPattern().IsMatch(digest))
            throw SovereignException.Invalid($"'{digest}' is not a valid digest: expected sha256:<64 hex digits>.", "digest", "invalid_digest");
        return Path.Combine(Paths.Blobs, "sha256-" + digest[7..].ToLowerInvariant());
    }

    /// <summary>
    /// Makes files whose SHA-256 and GGUF header the caller has already verified the blobs of <paramref name="manifests"/>,
    /// and writes the manifests: a pull from a mirror or the import of a bundle, several models at once. All of it happens
    /// under the store lock, and every name and every blob is checked before anything changes, so a batch that cannot be
    /// stored leaves the store as it was. Each file in <paramref name="verifiedBlobs"/> (digest → path) must lie inside
    /// this store's models folder, so that committing it is a rename; it is moved, or deleted when the store already has
    /// that blob. A manifest whose digest has no file here must name a blob the store already has, with the right size.
    /// Manifests replace those of the same name, whose blobs go when nothing else uses them.
    /// </summary>
    public async Task<IReadOnlyList<ModelManifest>> CommitVerifiedAsync(IReadOnlyList<ModelManifest> manifests,
        IReadOnlyDictionary<string, string> verifiedBlobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        ArgumentNullException.ThrowIfNull(verifiedBlobs);
        var names = manifests.Select(m => Checked(new ModelName(m.Name, m.Tag))).ToList();
        var models = Path.GetFullPath(Paths.Models) + Path.DirectorySeparatorChar;
        foreach (var (digest, file) in verifiedBlobs)
        {
            _ = BlobPath(digest);
            if (!Path.GetFullPath(file).StartsWith(models, StringComparison.Ordinal))
                throw new ArgumentException($"A verified blob must lie inside {models}, so that committing it is a rename: '{file}'.", nameof(verifiedBlobs));
        }
        CheckBatchNames(names);

        Directory.CreateDirectory(Paths.Blobs);
        await using var storeLock = await StoreLock.AcquireAsync(Paths.Models, cancellationToken).ConfigureAwait(false);

        // :: Check everything before changing anything.
        foreach (var name in names) CheckNameFits(name);
        foreach (var manifest in manifests)
        {
            if (!DigestPattern().IsMatch(manifest.Digest))
                throw SovereignException.Invalid($"Model '{manifest.Reference}' has an invalid digest '{manifest.Digest}'.", "digest", "invalid_digest");
            if (HasBlob(manifest.Digest, manifest.Size)) continue;
            var file = verifiedBlobs.GetValueOrDefault(manifest.Digest)
                ?? throw new InvalidOperationException($"No blob for {manifest.Digest}: neither in the store nor among the verified files.");
            var length = new FileInfo(file) is { Exists: true } info ? info.Length : -1;
            if (length != manifest.Size)
                throw new InvalidOperationException($"The verified file for {manifest.Digest} is {length} bytes, but model '{manifest.Reference}' says {manifest.Size}.");
        }

        // :: Blobs first, then manifests: a manifest never points at a blob that is not there.
        var added = new List<string>();
        foreach (var (digest, file) in verifiedBlobs)
        {
            var blob = BlobPath(digest);
            var size = manifests.FirstOrDefault(m => m.Digest == digest)?.Size;
            if (size is null || (File.Exists(blob) && new FileInfo(blob).Length == size))
            {
                TryDelete(file);
                continue;
            }
            File.Move(file, blob, overwrite: true);
            added.Add(digest);
        }

        var replaced = new List<string>();
        var written = new List<ModelManifest>();
        try
        {
            foreach (var manifest in manifests)
            {
                var stored = manifest with { Name = manifest.Name.ToLowerInvariant(), Tag = manifest.Tag.ToLowerInvariant() };
                // Bundles and mirrors carry model blobs only: a projector this store lacks is dropped rather than named
                // missing, so the model still loads (images then go through OCR) until the projector is imported again.
                if (stored.ProjectorDigest is { } projector && !(DigestPattern().IsMatch(projector) && File.Exists(BlobPath(projector))))
                    stored = stored with { ProjectorDigest = null, ProjectorSize = null };
                if (ReadManifest(new ModelName(stored.Name, stored.Tag)) is { } previous)
                {
                    replaced.Add(previous.Digest);
                    if (previous.ProjectorDigest is { } previousProjector) replaced.Add(previousProjector);
                }
                WriteManifest(stored);
                written.Add(stored);
                LogImported(_logger, stored.Reference, stored.Digest, stored.Size);
            }
        }
        catch
        {
            foreach (var digest in added) DeleteBlobIfUnreferenced(digest);
            throw;
        }
        foreach (var digest in replaced.Distinct(StringComparer.OrdinalIgnoreCase)) DeleteBlobIfUnreferenced(digest);
        return written;
    }

    private bool HasBlob(string digest, long size) => new FileInfo(BlobPath(digest)) is { Exists: true } blob && blob.Length == size;

    /// <summary>Two names of one batch must not be the same model, nor need one's manifest file to be the other's folder.</summary>
    private void CheckBatchNames(IReadOnlyList<ModelName> names)
    {
        var files = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (!files.Add(ManifestPath(name)))
                throw new SovereignException(ErrorKind.Conflict, $"Model '{name}' appears twice.", "model", "model_name_conflict");
        }
        foreach (var name in names)
        {
            for (var folder = Path.GetDirectoryName(ManifestPath(name)); folder is not null && folder.Length > Paths.Manifests.Length;
                 folder = Path.GetDirectoryName(folder))
            {
                if (files.Contains(folder)) throw NameConflict(name, ReferenceOf(folder));
            }
        }
    }

    public async Task VerifyAsync(ModelManifest manifest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (!DigestPattern().IsMatch(manifest.Digest))
            throw Corrupt(manifest, $"its manifest has an invalid digest '{manifest.Digest}'");
        var path = BlobPath(manifest.Digest);
        var info = new FileInfo(path);
        if (!info.Exists) throw Corrupt(manifest, $"its blob {Path.GetFileName(path)} is missing");
        if (info.Length != manifest.Size)
            throw Corrupt(manifest, $"its blob is {info.Length} bytes but should be {manifest.Size}");
        var stamp = (info.Length, info.LastWriteTimeUtc);
        if (_verified.TryGetValue(path, out var seen) && seen == stamp) return;

        string actual;
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, CopyBufferBytes,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
            actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        if (!string.Equals("sha256:" + actual, manifest.Digest, StringComparison.OrdinalIgnoreCase))
        {
            _verified.TryRemove(path, out _);
            throw Corrupt(manifest, $"its blob no longer matches its digest (it now hashes to sha256:{actual})");
        }
        _verified[path] = stamp;
    }

    private static SovereignException Corrupt(ModelManifest manifest, string problem) =>
        new(ErrorKind.Internal, $"Model '{manifest.Reference}' is corrupt: {problem}. Remove it and import it again.", code: "model_corrupt");

    /// <summary>ModelName has a public constructor, so a name may not have come through Parse; never let one escape the folder.</summary>
    private static ModelName Checked(ModelName name)
    {
        var text = $"{name.Name}:{name.Tag}";
        return ModelName.TryParse(text, out var parsed) && parsed.ToString() == text
            ? parsed
            : throw SovereignException.Invalid(
                $"'{text}' is not a valid model name: use name[:tag] in lower case with letters, digits, '.', '-', '_' and '/'.",
                "model", "invalid_model_name");
    }

    private static GgufFile ReadHeader(string path)
    {
        try
        {
            return GgufReader.Read(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SovereignException(ErrorKind.InvalidRequest, $"Cannot read model file '{path}': {e.Message}", "path", "file_unreadable", e);
        }
    }

    private static async Task<string> CopyAndHashAsync(string source, FileStream destination, IProgress<double>? progress,
        CancellationToken cancellationToken)
    {
        var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferBytes,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using var _ = input.ConfigureAwait(false);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        try
        {
            var total = Math.Max(1, input.Length);
            long copied = 0;
            var reported = 0d;
            int read;
            while ((read = await input.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                copied += read;
                // Stop short of 1: that is reported once the model is committed.
                var fraction = Math.Min(0.99, (double)copied / total);
                if (fraction - reported >= 0.005)
                {
                    reported = fraction;
                    progress?.Report(fraction);
                }
            }
            await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Removes temp files left by imports that crashed. Ones still being written are held open with FileShare.None by
    /// their importer, so opening them exclusively fails and they are skipped; DeleteOnClose makes the test and the
    /// delete one step.
    /// </summary>
    private void CleanAbandonedImports()
    {
        foreach (var file in Directory.EnumerateFiles(Paths.Blobs, ImportTempPrefix + "*" + ImportTempSuffix, IncludeHidden))
        {
            try
            {
                using (new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose))
                {
                }
                LogCleaned(_logger, file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use by a running import (or already gone).
            }
        }
    }

    private string ManifestPath(ModelName name) =>
        Path.Combine(Paths.Manifests, Path.Combine(name.Name.Split('/')), name.Tag);

    private ModelManifest? ReadManifest(ModelName name)
    {
        var path = ManifestPath(name);
        try
        {
            var manifest = JsonSerializer.Deserialize(File.ReadAllBytes(path), ManifestJsonContext.Default.ModelManifest);
            if (manifest is null || !DigestPattern().IsMatch(manifest.Digest))
                throw new JsonException("The manifest has no valid digest.");
            // The file's place is its identity; a name inside that disagrees would make Remove and Find disagree.
            return manifest with { Name = name.Name, Tag = name.Tag };
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            LogUnreadableManifest(_logger, path, e.Message);
            return null;
        }
    }

    // Caller holds the store lock, so any temp file already in the folder is an abandoned one.
    private void WriteManifest(ModelManifest manifest)
    {
        var name = new ModelName(manifest.Name, manifest.Tag);
        var path = ManifestPath(name);
        var folder = Path.GetDirectoryName(path)!;
        CheckNameFits(name);
        Directory.CreateDirectory(folder);
        foreach (var stale in Directory.EnumerateFiles(folder, "." + "*" + ManifestTempSuffix, IncludeHidden)) TryDelete(stale);

        var temp = Path.Combine(folder, $".{name.Tag}.{Guid.NewGuid():N}{ManifestTempSuffix}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                JsonSerializer.Serialize(stream, manifest, ManifestJsonContext.Default.ModelManifest);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>
    /// Manifests are files inside folders named after the model, so model a:latest (file manifests/a/latest) and model
    /// a/latest:x (file manifests/a/latest/x) cannot both exist; the second one is a 409 naming the first.
    /// </summary>
    private void CheckNameFits(ModelName name)
    {
        var path = ManifestPath(name);
        if (Directory.Exists(path))
        {
            var other = Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true }).FirstOrDefault();
            throw NameConflict(name, other is null ? $"{name.Name}/{name.Tag}" : ReferenceOf(other));
        }
        var current = Paths.Manifests;
        foreach (var part in name.Name.Split('/'))
        {
            current = Path.Combine(current, part);
            if (File.Exists(current)) throw NameConflict(name, ReferenceOf(current));
        }
    }

    private string ReferenceOf(string manifestPath)
    {
        var relative = Path.GetRelativePath(Paths.Manifests, manifestPath).Replace(Path.DirectorySeparatorChar, '/');
        var slash = relative.LastIndexOf('/');
        return slash < 0 ? relative : $"{relative[..slash]}:{relative[(slash + 1)..]}";
    }

    private static SovereignException NameConflict(ModelName name, string existing) =>
        new(ErrorKind.Conflict, $"Model '{name}' cannot be stored alongside model '{existing}': their names would share a folder. Choose another name.",
            "model", "model_name_conflict");

    private void DeleteEmptyManifestFolders(string folder)
    {
        var root = Path.GetFullPath(Paths.Manifests);
        var current = Path.GetFullPath(folder);
        while (current.Length > root.Length && current.StartsWith(root, StringComparison.Ordinal))
        {
            try
            {
                foreach (var stale in Directory.EnumerateFiles(current, "." + "*" + ManifestTempSuffix, IncludeHidden)) TryDelete(stale);
                if (Directory.EnumerateFileSystemEntries(current, "*", IncludeHidden).Any()) return;
                Directory.Delete(current);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return;
            }
            current = Path.GetDirectoryName(current)!;
        }
    }

    // Caller holds the store lock, so no import can be about to point a new manifest at this blob.
    /// <summary>After a manifest is replaced or removed: its model and projector blobs go unless another manifest names them.</summary>
    private void ReleaseBlobsOf(ModelManifest manifest)
    {
        DeleteBlobIfUnreferenced(manifest.Digest);
        if (manifest.ProjectorDigest is { } projector) DeleteBlobIfUnreferenced(projector);
    }

    private void DeleteBlobIfUnreferenced(string digest)
    {
        if (List().Any(m => string.Equals(m.Digest, digest, StringComparison.OrdinalIgnoreCase)
                            || string.Equals(m.ProjectorDigest, digest, StringComparison.OrdinalIgnoreCase))) return;
        var path = BlobPath(digest);
        TryDelete(path);
        _verified.TryRemove(path, out _);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover is cleaned by a later import.
        }
    }

    [GeneratedRegex("^sha256:[0-9a-fA-F]{64}\\z")]
    private static partial Regex DigestPattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported model {Reference} as {Digest} ({Size} bytes)")]
    private static partial void LogImported(ILogger logger, string reference, string digest, long size);

    [LoggerMessage(Level = LogLevel.Information, Message = "Copied model {Source} to {Destination}")]
    private static partial void LogCopied(ILogger logger, string source, string destination);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed model {Reference}")]
    private static partial void LogRemoved(ILogger logger, string reference);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Path}, left behind by an import that did not finish")]
    private static partial void LogCleaned(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignoring unreadable model manifest {Path}: {Error}")]
    private static partial void LogUnreadableManifest(ILogger logger, string path, string error);
}
