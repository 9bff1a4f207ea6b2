using System.Buffers;
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sovereign.Core.Errors;
using Sovereign.Models.Gguf;
using Sovereign.Models.Store;

namespace Sovereign.Models.Distribution;

/// <summary>How far an export or import has got, in bytes of the bundle. Immutable.</summary>
public sealed record BundleProgress(long Done, long Total, string? Current = null);

/// <summary>
/// Models carried by hand: a tar file (PAX) laid out like the store, plus a checksum list.
/// <code>
/// SHA256SUMS                       "&lt;hex&gt;  &lt;path&gt;" for every other file (sha256sum -c reads it)
/// manifests/&lt;name&gt;/&lt;tag&gt;          the store's manifest JSON
/// blobs/sha256-&lt;hex&gt;               the GGUF files, named by their digest
/// </code>
/// Import reads the whole bundle into a staging folder inside the store first: every entry must be one of those paths
/// (no links, no <c>..</c>, no absolute paths), every file must be listed in SHA256SUMS with the hash it has, every
/// blob must hash to its name, every manifest must point at a blob of the bundle with the right size, and every blob
/// must pass the GGUF checks an import makes. Only then are the models committed, all together; a bundle failing any
/// check is refused whole and leaves nothing behind. A bundle is checksummed, not signed: it proves it was not damaged
/// or partly edited, not who made it. Stateless; thread-safe.
/// </summary>
public static partial class ModelBundle
{
    public const string ChecksumFile = "SHA256SUMS";

    /// <summary>Most models one bundle may hold.</summary>
    public const int MaxModels = 1000;

    private const int MaxSmallFileBytes = 1 << 20;
    private const int BufferBytes = 1 << 20;
    private const string StagingFolder = ".staging";

    /// <summary>Whether the file is a tar archive (the "ustar" magic at byte 257), as opposed to a GGUF file.</summary>
    public static bool IsBundle(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        Span<byte> magic = stackalloc byte[5];
        stream.Position = 257;
        return stream.ReadAtLeast(magic, 5, throwOnEndOfStream: false) == 5 && magic.SequenceEqual("ustar"u8);
    }

    /// <summary>
    /// Writes the named models (<c>name[:tag]</c>; a 404 for one the store lacks) to a bundle at <paramref name="outputPath"/>,
    /// checking each blob against its digest on the way. Written to a temporary file beside it and renamed once complete.
    /// </summary>
    public static async Task<IReadOnlyList<ModelManifest>> ExportAsync(IModelStore store, IReadOnlyList<string> references, string outputPath,
        IProgress<BundleProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(references);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        if (references.Count == 0) throw SovereignException.Invalid("Name at least one model to export.", "model");

        var models = references.Select(r => store.Get(r)).DistinctBy(m => m.Reference).ToList();
        var blobs = models.DistinctBy(m => m.Digest).ToDictionary(m => m.Digest, m => m.Size);
        var manifests = models.Select(m => (Path: ManifestEntry(m), Bytes: JsonSerializer.SerializeToUtf8Bytes(m, ManifestJsonContext.Default.ModelManifest))).ToList();

        var sums = new StringBuilder();
        foreach (var (digest, _) in blobs) sums.Append(OciDigest.Hex(digest)).Append("  blobs/").Append(OciDigest.FileName(digest)).Append('\n');
        foreach (var (path, bytes) in manifests) sums.Append(Convert.ToHexStringLower(SHA256.HashData(bytes))).Append("  ").Append(path).Append('\n');
        var sumsBytes = Encoding.UTF8.GetBytes(sums.ToString());

        var output = Path.GetFullPath(outputPath);
        var temp = Path.Combine(Path.GetDirectoryName(output)!, $".{Path.GetFileName(output)}.{Guid.NewGuid():N}.partial");
        var total = blobs.Values.Sum() + sumsBytes.Length + manifests.Sum(m => m.Bytes.Length);
        long done = 0;
        try
        {
            var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferBytes, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                var tar = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: true);
                await using (tar.ConfigureAwait(false))
                {
                    progress?.Report(new BundleProgress(0, total));
                    await WriteSmallAsync(tar, ChecksumFile, sumsBytes, cancellationToken).ConfigureAwait(false);
                    done += sumsBytes.Length;
                    foreach (var (path, bytes) in manifests)
                    {
                        await WriteSmallAsync(tar, path, bytes, cancellationToken).ConfigureAwait(false);
                        done += bytes.Length;
                    }
                    foreach (var (digest, size) in blobs)
                    {
                        var blobPath = store.BlobPath(digest);
                        var blob = new FileStream(blobPath, FileMode.Open, FileAccess.Read, FileShare.Read, BufferBytes, FileOptions.SequentialScan | FileOptions.Asynchronous);
                        await using (blob.ConfigureAwait(false))
                        {
                            if (blob.Length != size)
                                throw Corrupt(digest, $"is {blob.Length} bytes but its manifest says {size}");
                            var start = done;
                            using var hashing = new HashingReadStream(blob, read => progress?.Report(new BundleProgress(start + read, total, digest)));
                            var entry = new PaxTarEntry(TarEntryType.RegularFile, "blobs/" + OciDigest.FileName(digest)) { DataStream = hashing };
                            await tar.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
                            if (hashing.BytesRead != size || OciDigest.Prefix + hashing.HashHex() != digest)
                                throw Corrupt(digest, "no longer matches its digest");
                        }
                        done += size;
                    }
                }
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, output, overwrite: true);
            progress?.Report(new BundleProgress(total, total));
            return models;
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>
    /// Verifies the whole bundle into staging, then commits every model in it at once; a 400 (<c>invalid_bundle</c>)
    /// naming the first problem otherwise, with nothing from the bundle left in the store.
    /// </summary>
    public static async Task<IReadOnlyList<ModelManifest>> ImportAsync(FileModelStore store, string bundlePath,
        IProgress<BundleProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(bundlePath);
        var source = Path.GetFullPath(bundlePath);
        if (!File.Exists(source)) throw SovereignException.Invalid($"Bundle '{bundlePath}' does not exist or is not a file.", "path", "file_not_found");

        var staging = Path.Combine(store.Paths.Models, StagingFolder, Guid.NewGuid().ToString("N"));
        CleanAbandonedStaging(Path.GetDirectoryName(staging)!);
        Directory.CreateDirectory(staging);
        try
        {
            var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, BufferBytes, FileOptions.SequentialScan | FileOptions.Asynchronous);
            var contents = new BundleContents();
            var total = input.Length;
            await using (input.ConfigureAwait(false))
            {
                progress?.Report(new BundleProgress(0, total));
                var tar = new TarReader(input, leaveOpen: true);
                await using (tar.ConfigureAwait(false))
                {
                    while (true)
                    {
                        TarEntry? entry;
                        try
                        {
                            entry = await tar.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException)
                        {
                            throw Invalid(source, $"it is not a readable tar file ({e.Message})");
                        }
                        if (entry is null) break;
                        await ReadEntryAsync(entry, source, staging, contents, cancellationToken).ConfigureAwait(false);
                        progress?.Report(new BundleProgress(Math.Min(input.Position, total), total, entry.Name));
                    }
                }
            }

            var manifests = Check(contents, source, staging);
            var blobs = contents.Blobs.ToDictionary(b => OciDigest.FromHex(b.Key), b => b.Value.Path);
            var committed = await store.CommitVerifiedAsync(manifests, blobs, cancellationToken).ConfigureAwait(false);
            progress?.Report(new BundleProgress(total, total));
            return committed;
        }
        finally
        {
            try
            {
                Directory.Delete(staging, recursive: true);
                Directory.Delete(Path.GetDirectoryName(staging)!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The staging parent is shared by concurrent imports; it stays while another one uses it.
            }
        }
    }

    /// <summary>Staging folders of imports that died (a crash, a kill) are removed once they are a day old.</summary>
    private static void CleanAbandonedStaging(string parent)
    {
        if (!Directory.Exists(parent)) return;
        foreach (var folder in Directory.EnumerateDirectories(parent))
        {
            try
            {
                if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(folder) > TimeSpan.FromDays(1)) Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use, or already gone.
            }
        }
    }

    private sealed class BundleContents
    {
        public byte[]? Sums { get; set; }
        public Dictionary<string, (string Path, long Size, string Hex)> Blobs { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, (ModelName Name, byte[] Bytes)> Manifests { get; } = new(StringComparer.Ordinal);
    }

    private static async Task ReadEntryAsync(TarEntry entry, string source, string staging, BundleContents contents, CancellationToken cancellationToken)
    {
        // Bundles re-packed by hand with `tar -C dir -cf b.tar .` name their files ./SHA256SUMS and so on.
        var name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
        if (name.Any(char.IsControl)) throw Invalid(source, $"an entry's name holds control characters");
        if (entry.EntryType is TarEntryType.Directory) return;
        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            throw Invalid(source, $"entry '{OciDigest.Shorten(name)}' is a {entry.EntryType}, not a plain file");
        if (entry.Length < 0) throw Invalid(source, $"entry '{OciDigest.Shorten(name)}' has a negative length");

        if (name == ChecksumFile)
        {
            if (contents.Sums is not null) throw Invalid(source, $"{ChecksumFile} appears twice");
            contents.Sums = await ReadSmallAsync(entry, source, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (BlobEntry().Match(name) is { Success: true } blob)
        {
            var hex = blob.Groups[1].Value;
            if (contents.Blobs.ContainsKey(hex)) throw Invalid(source, $"'{name}' appears twice");
            var path = Path.Combine(staging, "sha256-" + hex);
            var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferBytes, FileOptions.Asynchronous);
            string actual;
            await using (file.ConfigureAwait(false))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
                try
                {
                    if (entry.DataStream is { } data)
                    {
                        int read;
                        while ((read = await data.ReadAsync(buffer.AsMemory(0, BufferBytes), cancellationToken).ConfigureAwait(false)) > 0)
                        {
                            hash.AppendData(buffer, 0, read);
                            await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        }
                    }
                }
                catch (Exception e) when (e is EndOfStreamException or InvalidDataException)
                {
                    throw Invalid(source, $"it ends inside '{name}' (the file is truncated)");
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (file.Length != entry.Length) throw Invalid(source, $"it ends inside '{name}' (the file is truncated)");
            }
            contents.Blobs[hex] = (path, entry.Length, actual);
            return;
        }
        if (name.StartsWith("manifests/", StringComparison.Ordinal))
        {
            var relative = name["manifests/".Length..];
            var slash = relative.LastIndexOf('/');
            var reference = slash <= 0 ? "" : $"{relative[..slash]}:{relative[(slash + 1)..]}";
            if (!ModelName.TryParse(reference, out var modelName) || modelName.ToString() != reference)
                throw Invalid(source, $"entry '{OciDigest.Shorten(name)}' does not name a model (manifests/<name>/<tag>, lower case, no '..')");
            if (contents.Manifests.ContainsKey(name)) throw Invalid(source, $"'{name}' appears twice");
            if (contents.Manifests.Count >= MaxModels) throw Invalid(source, $"it holds more than {MaxModels} models");
            contents.Manifests[name] = (modelName, await ReadSmallAsync(entry, source, cancellationToken).ConfigureAwait(false));
            return;
        }
        throw Invalid(source, $"it holds '{OciDigest.Shorten(name)}', which is not {ChecksumFile}, manifests/<name>/<tag> or blobs/sha256-<hex>");
    }

    /// <summary>Everything is read; now it must all agree. Returns the manifests to commit.</summary>
    private static List<ModelManifest> Check(BundleContents contents, string source, string staging)
    {
        var sums = ParseSums(contents.Sums ?? throw Invalid(source, $"it has no {ChecksumFile}"), source);
        var actual = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (hex, blob) in contents.Blobs) actual["blobs/sha256-" + hex] = blob.Hex;
        foreach (var (path, manifest) in contents.Manifests) actual[path] = Convert.ToHexStringLower(SHA256.HashData(manifest.Bytes));

        foreach (var (path, hash) in actual)
        {
            if (!sums.TryGetValue(path, out var listed)) throw Invalid(source, $"'{path}' is not listed in {ChecksumFile}");
            if (listed != hash) throw Invalid(source, $"'{path}' does not match its checksum in {ChecksumFile} (it hashes to {hash}, the list says {listed})");
        }
        foreach (var path in sums.Keys)
        {
            if (!actual.ContainsKey(path)) throw Invalid(source, $"{ChecksumFile} lists '{path}', which the bundle does not hold");
        }
        foreach (var (hex, blob) in contents.Blobs)
        {
            if (blob.Hex != hex) throw Invalid(source, $"blob sha256-{hex} does not match its name (it hashes to sha256:{blob.Hex})");
        }
        if (contents.Manifests.Count == 0) throw Invalid(source, "it holds no model");

        var manifests = new List<ModelManifest>();
        var headers = new Dictionary<string, GgufFile>(StringComparer.Ordinal);
        foreach (var (path, (name, bytes)) in contents.Manifests)
        {
            ModelManifest? stored;
            try
            {
                stored = JsonSerializer.Deserialize(bytes, ManifestJsonContext.Default.ModelManifest);
            }
            catch (JsonException e)
            {
                throw Invalid(source, $"manifest '{path}' is not valid JSON ({e.Message})");
            }
            if (stored is null || !OciDigest.IsValid(stored.Digest))
                throw Invalid(source, $"manifest '{path}' has no valid digest (sha256: and 64 lower-case hex digits)");
            var hex = OciDigest.Hex(stored.Digest);
            if (!contents.Blobs.TryGetValue(hex, out var blob)) throw Invalid(source, $"manifest '{path}' points at blob {stored.Digest}, which the bundle does not hold");
            if (blob.Size != stored.Size) throw Invalid(source, $"manifest '{path}' says its blob is {stored.Size} bytes, but it is {blob.Size}");
            if (stored.ChatTemplateOverride is { } t && !ChatTemplates.IsKnown(t))
                throw Invalid(source, $"manifest '{path}' names an unknown chat template '{OciDigest.Shorten(t)}'");

            if (!headers.TryGetValue(hex, out var header))
            {
                try
                {
                    using var stream = new FileStream(Path.Combine(staging, "sha256-" + hex), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                    header = GgufReader.Read(stream, $"blobs/sha256-{hex}");
                    LlamaCppCompatibility.Check(header);
                }
                catch (GgufFormatException e)
                {
                    throw Invalid(source, e.Message.TrimEnd('.'));
                }
                headers[hex] = header;
            }

            // What the header says is taken from the header; what only the manifest knows travels with it.
            manifests.Add(new ModelManifest
            {
                Name = name.Name,
                Tag = name.Tag,
                Digest = stored.Digest,
                Size = stored.Size,
                Architecture = header.Architecture,
                ParameterCount = header.ParameterCount,
                Quantization = header.Quantization,
                ContextLength = header.ContextLength,
                HasChatTemplate = header.HasChatTemplate,
                ChatTemplateOverride = stored.ChatTemplateOverride is { } o ? ChatTemplates.Normalize(o) : null,
                License = header.License ?? stored.License,
                Source = "bundle:" + source,
                CreatedAt = stored.CreatedAt,
            });
        }
        return manifests;
    }

    private static Dictionary<string, string> ParseSums(byte[] bytes, string source)
    {
        var sums = new Dictionary<string, string>(StringComparer.Ordinal);
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Invalid(source, $"{ChecksumFile} is not UTF-8 text");
        }
        var number = 0;
        foreach (var line in text.Split('\n'))
        {
            number++;
            if (line.Length == 0) continue;
            var match = SumLine().Match(line);
            if (!match.Success) throw Invalid(source, $"line {number} of {ChecksumFile} is not '<64 hex digits>  <path>'");
            if (!sums.TryAdd(match.Groups[2].Value, match.Groups[1].Value)) throw Invalid(source, $"{ChecksumFile} lists '{match.Groups[2].Value}' twice");
        }
        return sums;
    }

    private static async Task<byte[]> ReadSmallAsync(TarEntry entry, string source, CancellationToken cancellationToken)
    {
        if (entry.Length > MaxSmallFileBytes) throw Invalid(source, $"'{entry.Name}' is {entry.Length} bytes (at most {MaxSmallFileBytes})");
        if (entry.DataStream is null) return [];
        using var copy = new MemoryStream((int)entry.Length);
        try
        {
            await entry.DataStream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException)
        {
            throw Invalid(source, $"it ends inside '{entry.Name}' (the file is truncated)");
        }
        if (copy.Length != entry.Length) throw Invalid(source, $"it ends inside '{entry.Name}' (the file is truncated)");
        return copy.ToArray();
    }

    private static async Task WriteSmallAsync(TarWriter tar, string name, byte[] bytes, CancellationToken cancellationToken)
    {
        using var data = new MemoryStream(bytes, writable: false);
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = data };
        await tar.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
    }

    private static string ManifestEntry(ModelManifest m) => $"manifests/{m.Name}/{m.Tag}";

    private static SovereignException Invalid(string source, string problem) =>
        SovereignException.Invalid($"Bundle '{Path.GetFileName(source)}' was refused, and nothing from it was imported: {problem}.", "path", "invalid_bundle");

    private static SovereignException Corrupt(string digest, string problem) =>
        new(ErrorKind.Internal, $"Cannot export: blob {digest} in the store {problem}. Remove the model and import it again.", code: "model_corrupt");

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    [GeneratedRegex("^blobs/sha256-([0-9a-f]{64})\\z", RegexOptions.CultureInvariant)]
    private static partial Regex BlobEntry();

    [GeneratedRegex("^([0-9a-f]{64}) [ *]([^\\r\\n]+)\\z", RegexOptions.CultureInvariant)]
    private static partial Regex SumLine();

    /// <summary>Reads through to another stream, hashing and counting; reports how far it got. Seekable only as far as tar needs its length.</summary>
    private sealed class HashingReadStream(Stream inner, Action<long> onRead) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly long _start = inner.Position;

        public long BytesRead { get; private set; }

        public string HashHex() => Convert.ToHexStringLower(_hash.GetCurrentHash());

        public override bool CanRead => true;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length - _start;

        public override long Position
        {
            get => BytesRead;
            set
            {
                if (value != BytesRead) throw new NotSupportedException("The stream is read once, in order.");
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer);
            Count(buffer[..read]);
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            Count(buffer.Span[..read]);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) =>
            (origin == SeekOrigin.Begin && offset == BytesRead) || (origin == SeekOrigin.Current && offset == 0)
                ? BytesRead
                : throw new NotSupportedException("The stream is read once, in order.");

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _hash.Dispose();
            base.Dispose(disposing);
        }

        private void Count(ReadOnlySpan<byte> data)
        {
            if (data.IsEmpty) return;
            _hash.AppendData(data);
            BytesRead += data.Length;
            onRead(BytesRead);
        }
    }
}
