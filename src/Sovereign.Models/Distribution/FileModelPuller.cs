using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sovereign.Core.Errors;
using Sovereign.Core.Net;
using Sovereign.Models.Gguf;
using Sovereign.Models.Store;

namespace Sovereign.Models.Distribution;

/// <summary>
/// <see cref="IModelPuller"/> into a <see cref="FileModelStore"/>, from the configured mirrors only: another Sovereign node
/// or a registry speaking the OCI distribution API as Ollama's does (<c>GET /v2/&lt;name&gt;/manifests/&lt;tag&gt;</c>,
/// <c>GET /v2/&lt;name&gt;/blobs/&lt;digest&gt;</c>).
/// <list type="bullet">
/// <item>Every request goes through an <see cref="AllowListHandler"/> that allows the mirrors' hosts and
/// Sovereign:AllowedHosts; redirects are followed one hop at a time through it, so a mirror cannot send us elsewhere.</item>
/// <item>Mirrors are tried in order for the manifest; the first that has it serves the blobs.</item>
/// <item>The model blob streams into <c>blobs/sha256-&lt;hex&gt;-partial</c>, hashed as it arrives. An interrupted pull
/// leaves the partial file; the next pull hashes what is there and asks for the rest with <c>Range: bytes=N-</c>.</item>
/// <item>Size and SHA-256 must match the manifest, and the GGUF header must pass the same checks as an import; otherwise
/// the partial file is deleted and the pull fails, leaving nothing visible. The manifest is written (atomically, under
/// the store lock) only once the blob is verified.</item>
/// <item>The reference is validated before any request, and so is every digest the mirror sends, so nothing can name a
/// path outside the store.</item>
/// </list>
/// Thread-safe; pulls of the same blob in one process wait for each other, and another process pulling the same blob
/// into the same folder makes this one fail with a 409 rather than interleave writes.
/// </summary>
public sealed partial class FileModelPuller : IModelPuller, IDisposable
{
    /// <summary>A manifest or config larger than this is refused unread.</summary>
    public const int MaxDocumentBytes = 1 << 20;

    /// <summary>Most layers a manifest may list.</summary>
    public const int MaxLayers = 64;

    private const int BufferBytes = 1 << 16;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);

    // Pulls of one blob in this process take turns (keyed by the blob's path); other processes are kept out by the
    // exclusive open of the partial file.
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> BlobGates = new(StringComparer.Ordinal);

    private readonly FileModelStore _store;
    private readonly MirrorSettings _settings;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <param name="transport">
    /// What carries the requests once the allow-list has passed them; default a <see cref="SocketsHttpHandler"/> that
    /// follows no redirect and uses no proxy. Tests hand in a recording one.
    /// </param>
    public FileModelPuller(FileModelStore store, MirrorSettings settings, ILogger<FileModelPuller>? logger = null,
        TimeProvider? timeProvider = null, HttpMessageHandler? transport = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(settings);
        _store = store;
        _settings = settings;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        transport ??= new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = settings.Timeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        var allowed = settings.AllowedHosts.Concat(settings.Mirrors.Select(m => m.GetLeftPart(UriPartial.Authority)));
        _http = new HttpClient(new AllowListHandler(allowed, transport), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("sovereign-puller/1.0");
    }

    public MirrorSettings Settings => _settings;

    public void Dispose() => _http.Dispose();

    public async IAsyncEnumerable<PullProgress> PullAsync(string reference, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var name = ParseReference(reference);
        if (_settings.Mirrors.Count == 0)
        {
            throw new SovereignException(ErrorKind.Unavailable,
                "No model mirror is configured: set Sovereign:Mirrors (or SOV_MIRRORS=http://node-a:8080) to pull models.", "model", "no_mirrors");
        }

        // The pull runs beside the enumeration and hands its reports over a small channel: a slow reader slows the
        // download rather than piling up reports, and a reader that stops early cancels the pull.
        var channel = Channel.CreateBounded<PullProgress>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var work = RunAsync(name, channel.Writer, stop.Token);
        try
        {
            await foreach (var progress in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return progress;
            await work.ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await work.ConfigureAwait(false);
            }
            catch (Exception e) when (stop.IsCancellationRequested && e is not OutOfMemoryException)
            {
                // The reader went away or was cancelled; what the pull failed with no longer matters to it.
            }
        }
    }

    /// <summary>
    /// A reference a pull accepts: <c>name[:tag]</c> as <see cref="ModelName"/> allows (letters, digits, '.', '-', '_',
    /// '/' between segments, no <c>..</c>, no leading '/' or '.', no '\', tag at most 64 characters, 128 in all).
    /// A 400 (<c>invalid_model_name</c>) otherwise.
    /// </summary>
    public static ModelName ParseReference(string? reference)
    {
        // ModelName's patterns end in '$', which also matches before a final newline: control characters are refused here.
        if (reference is null || reference.Any(char.IsControl) || !ModelName.TryParse(reference.Trim(), out var name))
        {
            throw SovereignException.Invalid(
                $"'{OciDigest.Shorten(reference)}' is not a valid model name: use name[:tag] with letters, digits, '.', '-', '_' and '/' between name parts (no '..', no leading '/'); tags are at most 64 characters.",
                "model", "invalid_model_name");
        }
        return name;
    }

    private async Task RunAsync(ModelName name, ChannelWriter<PullProgress> writer, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            await PullCoreAsync(name, p => writer.WriteAsync(p, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            writer.TryComplete();
        }
    }

    private async Task PullCoreAsync(ModelName name, Func<PullProgress, ValueTask> report, CancellationToken cancellationToken)
    {
        await report(new PullProgress("pulling manifest")).ConfigureAwait(false);
        var found = await FindManifestAsync(name, cancellationToken).ConfigureAwait(false);
        var source = $"{found.Mirror.Display}/{found.Repository}:{name.Tag}";
        var (model, config) = CheckManifest(found.Mirror, source, found.Manifest);

        SovereignModelMetadata? metadata = null;
        if (config is not null) metadata = await FetchConfigAsync(found, config, report, cancellationToken).ConfigureAwait(false);

        var digest = model.Digest!;
        var blobPath = _store.BlobPath(digest);
        var gate = BlobGates.GetOrAdd(blobPath, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var partial = await DownloadModelAsync(found, model, blobPath, report, cancellationToken).ConfigureAwait(false);
            await report(new PullProgress("verifying sha256 digest")).ConfigureAwait(false);
            var header = ReadHeader(partial ?? blobPath, source, discardOnFailure: partial);

            var manifest = new ModelManifest
            {
                Name = name.Name,
                Tag = name.Tag,
                Digest = digest,
                Size = model.Size,
                Architecture = header.Architecture,
                ParameterCount = header.ParameterCount,
                Quantization = header.Quantization,
                ContextLength = header.ContextLength,
                HasChatTemplate = header.HasChatTemplate,
                ChatTemplateOverride = metadata?.ChatTemplateOverride is { } t && ChatTemplates.IsKnown(t) ? ChatTemplates.Normalize(t) : null,
                License = header.License ?? Bounded(metadata?.License),
                Source = source,
                CreatedAt = metadata?.CreatedAt ?? _time.GetUtcNow(),
            };
            await report(new PullProgress("writing manifest")).ConfigureAwait(false);
            var blobs = partial is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [digest] = partial };
            await _store.CommitVerifiedAsync([manifest], blobs, cancellationToken).ConfigureAwait(false);
            LogPulled(_logger, manifest.Reference, source, digest);
        }
        finally
        {
            gate.Release();
        }
        await report(new PullProgress("success")).ConfigureAwait(false);
    }

    private sealed record Found(MirrorClient Mirror, string Repository, OciManifest Manifest);

    /// <summary>Asks each mirror in turn; under the name as given, then (for a bare name) Ollama's <c>library/</c> namespace.</summary>
    private async Task<Found> FindManifestAsync(ModelName name, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var notFound = new List<string>();
        string[] repositories = name.Name.Contains('/', StringComparison.Ordinal) ? [name.Name] : [name.Name, "library/" + name.Name];
        foreach (var uri in _settings.Mirrors)
        {
            var mirror = new MirrorClient(_http, uri, _settings.Key);
            try
            {
                var missing = true;
                foreach (var repository in repositories)
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(_settings.Timeout);
                    using var response = await mirror.GetAsync($"v2/{repository}/manifests/{name.Tag}",
                        h => h.Accept.ParseAdd($"{OciMediaTypes.Manifest}, {OciMediaTypes.OciManifest}"), timeout.Token).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.NotFound) continue;
                    missing = false;
                    if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                    {
                        problems.Add($"{mirror.Display} refused the request (HTTP {(int)response.StatusCode}): set SOV_MIRROR_KEY to a key it accepts (on a Sovereign node, one with the mirror scope)");
                        break;
                    }
                    if (!response.IsSuccessStatusCode)
                    {
                        problems.Add($"{mirror.Display} answered HTTP {(int)response.StatusCode} for the manifest");
                        break;
                    }
                    var bytes = await ReadSmallAsync(mirror, response, MaxDocumentBytes, "manifest", timeout.Token).ConfigureAwait(false);
                    OciManifest? manifest;
                    try
                    {
                        manifest = JsonSerializer.Deserialize(bytes, OciJsonContext.Default.OciManifest);
                    }
                    catch (JsonException e)
                    {
                        problems.Add($"{mirror.Display} sent a manifest that is not valid JSON ({e.Message})");
                        break;
                    }
                    if (manifest is null)
                    {
                        problems.Add($"{mirror.Display} sent an empty manifest");
                        break;
                    }
                    return new Found(mirror, repository, manifest);
                }
                if (missing) notFound.Add(mirror.Display);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                problems.Add($"{mirror.Display} did not answer within {_settings.Timeout.TotalSeconds:0} s");
            }
            catch (HttpRequestException e)
            {
                problems.Add($"{mirror.Display} could not be reached ({e.Message})");
            }
            catch (SovereignException e) when (e.Code is "host_not_allowed" or "mirror_failed")
            {
                problems.Add(e.Message.TrimEnd('.'));
            }
        }

        if (problems.Count == 0)
        {
            throw SovereignException.NotFound(
                $"Model '{name}' was not found on any mirror (asked {string.Join(", ", notFound)}).", "model", "model_not_found");
        }
        var also = notFound.Count > 0 ? $"; not found on {string.Join(", ", notFound)}" : "";
        throw new SovereignException(ErrorKind.Unavailable, $"Model '{name}' could not be pulled: {string.Join("; ", problems)}{also}.",
            "model", "mirror_failed") { RetryAfter = TimeSpan.FromSeconds(5) };
    }

    /// <summary>Checks what the mirror sent before any of it is used: digests, sizes, exactly one model layer.</summary>
    private static (OciDescriptor Model, OciDescriptor? Config) CheckManifest(MirrorClient mirror, string source, OciManifest manifest)
    {
        SovereignException Bad(string problem) =>
            new(ErrorKind.Unavailable, $"Mirror {mirror.Display} sent an unusable manifest for {source}: {problem}.", "model", "invalid_manifest");

        if (manifest.SchemaVersion != 2) throw Bad($"schemaVersion is {manifest.SchemaVersion}, not 2");
        var layers = manifest.Layers ?? throw Bad("it lists no layers");
        if (layers.Count > MaxLayers) throw Bad($"it lists {layers.Count} layers (at most {MaxLayers})");
        foreach (var layer in manifest.Config is { } c ? layers.Append(c) : layers)
        {
            if (layer is null) throw Bad("a layer is null");
            if (!OciDigest.IsValid(layer.Digest)) throw Bad($"digest '{OciDigest.Shorten(layer.Digest)}' is not sha256: and 64 lower-case hex digits");
            if (layer.Size < 0) throw Bad($"layer {layer.Digest} has a negative size");
        }
        var models = layers.Where(l => l.MediaType == OciMediaTypes.Model).ToList();
        if (models.Count != 1) throw Bad($"it has {models.Count} model layers ({OciMediaTypes.Model}); exactly one is needed");
        if (models[0].Size == 0) throw Bad("the model layer is empty");
        if (manifest.Config is { Size: > MaxDocumentBytes } big) throw Bad($"its config is {big.Size} bytes (at most {MaxDocumentBytes})");
        return (models[0], manifest.Config);
    }

    private async Task<SovereignModelMetadata?> FetchConfigAsync(Found found, OciDescriptor config, Func<PullProgress, ValueTask> report,
        CancellationToken cancellationToken)
    {
        var digest = config.Digest!;
        var status = $"pulling {OciDigest.Short(digest)}";
        await report(new PullProgress(status, digest, config.Size, 0)).ConfigureAwait(false);
        byte[] bytes;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(_settings.Timeout);
            using var response = await GetBlobAsync(found, digest, offset: 0, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
                throw found.Mirror.Failed($"answered HTTP {(int)response.StatusCode} for config blob {digest}");
            bytes = await ReadSmallAsync(found.Mirror, response, (int)config.Size, "config blob", timeout.Token).ConfigureAwait(false);
        }
        var actual = OciDigest.Prefix + Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (bytes.Length != config.Size || actual != digest)
            throw DigestMismatch(found.Mirror, digest, actual, bytes.Length, config.Size);
        await report(new PullProgress(status, digest, config.Size, config.Size)).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize(bytes, OciJsonContext.Default.OciModelConfig)?.Sovereign;
        }
        catch (JsonException)
        {
            // A registry's own config format: the model is still usable; only our extra metadata is missing.
            return null;
        }
    }

    /// <summary>
    /// Streams the model blob into its partial file (resuming one that is there) and verifies it. Returns the verified
    /// partial file, or null when the store already has the blob.
    /// </summary>
    private async Task<string?> DownloadModelAsync(Found found, OciDescriptor layer, string blobPath, Func<PullProgress, ValueTask> report,
        CancellationToken cancellationToken)
    {
        var digest = layer.Digest!;
        var size = layer.Size;
        var status = $"pulling {OciDigest.Short(digest)}";
        if (new FileInfo(blobPath) is { Exists: true } existing && existing.Length == size)
        {
            await report(new PullProgress(status, digest, size, size)).ConfigureAwait(false);
            return null;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(blobPath)!);
        var partialPath = blobPath + "-partial";
        FileStream file;
        try
        {
            file = new FileStream(partialPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, BufferBytes, FileOptions.Asynchronous);
        }
        catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException))
        {
            throw new SovereignException(ErrorKind.Conflict,
                $"Blob {digest} is being pulled into this data folder by another process; try again when it has finished.", "model", "pull_in_progress", e);
        }

        var discard = false;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var have = file.Length;
            if (have > size)
            {
                file.SetLength(0);
                have = 0;
            }
            if (have > 0)
            {
                // Resume: what is on disk is hashed again, so the final check covers every byte.
                file.Position = 0;
                long hashed = 0;
                while (hashed < have)
                {
                    var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(BufferBytes, have - hashed)), cancellationToken).ConfigureAwait(false);
                    if (read == 0) break;
                    hash.AppendData(buffer, 0, read);
                    hashed += read;
                }
                have = hashed;
                file.SetLength(have);
                LogResuming(_logger, digest, have, size);
            }
            await report(new PullProgress(status, digest, size, have)).ConfigureAwait(false);

            if (have < size)
            {
                CheckFreeSpace(Path.GetDirectoryName(blobPath)!, size - have, digest);
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                idle.CancelAfter(_settings.Timeout);
                using var response = await GetBlobAsync(found, digest, have, idle.Token).ConfigureAwait(false);
                switch (response.StatusCode)
                {
                    case HttpStatusCode.PartialContent when have > 0:
                        if (response.Content.Headers.ContentRange is not { From: { } from } || from != have)
                            throw found.Mirror.Failed($"answered a request for bytes {have}- of blob {digest} with another range ({response.Content.Headers.ContentRange})");
                        break;
                    case HttpStatusCode.OK:
                        if (have > 0)
                        {
                            // The mirror ignores ranges: start again from the first byte.
                            LogRangeIgnored(_logger, found.Mirror.Display, digest);
                            file.SetLength(0);
                            hash.GetHashAndReset();
                            have = 0;
                        }
                        break;
                    case HttpStatusCode.RequestedRangeNotSatisfiable:
                        discard = true;
                        throw found.Mirror.Failed($"has fewer than the {have} bytes of blob {digest} already pulled, though its manifest says {size}");
                    default:
                        throw found.Mirror.Failed($"answered HTTP {(int)response.StatusCode} for blob {digest}");
                }
                if (response.Content.Headers.ContentLength is { } length && have + length != size)
                {
                    discard = true;
                    throw DigestMismatch(found.Mirror, digest, actual: null, have + length, size);
                }

                file.Position = have;
                var body = await response.Content.ReadAsStreamAsync(idle.Token).ConfigureAwait(false);
                await using var _ = body.ConfigureAwait(false);
                var lastReport = _time.GetTimestamp();
                while (true)
                {
                    int read;
                    try
                    {
                        idle.CancelAfter(_settings.Timeout);
                        read = await body.ReadAsync(buffer.AsMemory(0, BufferBytes), idle.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                    {
                        throw Interrupted(found.Mirror, digest, have, size, $"sent nothing for {_settings.Timeout.TotalSeconds:0} s", e);
                    }
                    catch (Exception e) when (e is IOException or HttpRequestException)
                    {
                        throw Interrupted(found.Mirror, digest, have, size, "closed the connection", e);
                    }
                    if (read == 0) break;
                    if (have + read > size)
                    {
                        discard = true;
                        throw DigestMismatch(found.Mirror, digest, actual: null, have + read, size);
                    }
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    hash.AppendData(buffer, 0, read);
                    have += read;
                    if (_time.GetElapsedTime(lastReport) >= ProgressInterval)
                    {
                        lastReport = _time.GetTimestamp();
                        await report(new PullProgress(status, digest, size, have)).ConfigureAwait(false);
                    }
                }
            }

            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
            if (have < size) throw Interrupted(found.Mirror, digest, have, size, "ended the blob early", inner: null);

            var actual = OciDigest.Prefix + Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != digest)
            {
                discard = true;
                throw DigestMismatch(found.Mirror, digest, actual, have, size);
            }
            await report(new PullProgress(status, digest, size, size)).ConfigureAwait(false);
            return partialPath;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            discard |= file.Length == 0; // nothing to resume
            await file.DisposeAsync().ConfigureAwait(false);
            if (discard) TryDelete(partialPath);
        }
    }

    private Task<HttpResponseMessage> GetBlobAsync(Found found, string digest, long offset, CancellationToken cancellationToken) =>
        found.Mirror.GetAsync($"v2/{found.Repository}/blobs/{digest}", h =>
        {
            if (offset > 0) h.Range = new RangeHeaderValue(offset, null);
        }, cancellationToken);

    /// <summary>Reads the GGUF header the way an import does; a bad one deletes <paramref name="discardOnFailure"/>.</summary>
    private static GgufFile ReadHeader(string path, string source, string? discardOnFailure)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferBytes);
            var header = GgufReader.Read(stream, source);
            LlamaCppCompatibility.Check(header);
            return header;
        }
        catch (GgufFormatException e)
        {
            if (discardOnFailure is not null) TryDelete(discardOnFailure);
            throw new SovereignException(ErrorKind.Unavailable, $"The mirror served a model that cannot be used. {e.Message} Nothing was stored.",
                "model", GgufFormatException.ErrorCode, e);
        }
    }

    private static async Task<byte[]> ReadSmallAsync(MirrorClient mirror, HttpResponseMessage response, int limit, string what,
        CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength is { } declared && declared > limit)
            throw mirror.Failed($"sent a {what} of {declared} bytes (at most {limit} expected)");
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = stream.ConfigureAwait(false);
        using var copy = new MemoryStream();
        var buffer = new byte[Math.Min(limit + 1, 81920)];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (copy.Length + read > limit) throw mirror.Failed($"sent a {what} of more than {limit} bytes");
                copy.Write(buffer, 0, read);
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw mirror.Failed($"closed the connection while sending the {what}", e);
        }
        return copy.ToArray();
    }

    private static SovereignException DigestMismatch(MirrorClient mirror, string digest, string? actual, long got, long size) =>
        new(ErrorKind.Unavailable,
            actual is null || got != size
                ? $"Blob {digest} from mirror {mirror.Display} is {got} bytes, but its manifest says {size}; it was discarded. Run the pull again to download it afresh."
                : $"Digest mismatch: blob {digest} from mirror {mirror.Display} hashes to {actual}; it was discarded. Run the pull again to download it afresh.",
            "model", "digest_mismatch");

    private static SovereignException Interrupted(MirrorClient mirror, string digest, long have, long size, string what, Exception? inner) =>
        new(ErrorKind.Unavailable,
            $"Mirror {mirror.Display} {what} after {have} of {size} bytes of blob {digest}. Run the pull again to resume from there.",
            "model", "pull_interrupted", inner) { RetryAfter = TimeSpan.FromSeconds(5) };

    /// <summary>A blob that cannot fit is refused before its first byte rather than when the disk is full.</summary>
    private static void CheckFreeSpace(string folder, long needed, string digest)
    {
        long available;
        try
        {
            available = new DriveInfo(folder).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return; // Unknown: the write itself will say.
        }
        if (available < needed)
        {
            throw new SovereignException(ErrorKind.Unavailable,
                $"Not enough disk space for blob {digest}: {needed} more bytes are needed in {folder}, {available} are free.", "model", "disk_full");
        }
    }

    private static string? Bounded(string? text) => text is null ? null : text.Length <= 65_536 ? text : text[..65_536];

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort; a later pull starts it again.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulled model {Reference} from {Source} ({Digest})")]
    private static partial void LogPulled(ILogger logger, string reference, string source, string digest);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming blob {Digest} at byte {Have} of {Size}")]
    private static partial void LogResuming(ILogger logger, string digest, long have, long size);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mirror {Mirror} ignored a range request for {Digest}; downloading it from the start")]
    private static partial void LogRangeIgnored(ILogger logger, string mirror, string digest);
}
