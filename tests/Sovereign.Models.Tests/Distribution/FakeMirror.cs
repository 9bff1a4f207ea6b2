using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sovereign.Models.Distribution;
using Sovereign.Models.Store;

namespace Sovereign.Models.Tests.Distribution;

/// <summary>
/// A registry on 127.0.0.1 (real Kestrel, port 0) that serves manifests and blobs the OCI way and misbehaves on
/// request: cuts a blob's connection after some bytes, flips a byte, ignores ranges, sends blobs slowly, redirects.
/// Records every request. Thread-safe.
/// </summary>
internal sealed class FakeMirror : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, byte[]> _manifests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Request> _requests = new();
    private int _blobRequests;

    private FakeMirror(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public sealed record Request(string Method, string Path, string? Range, string? Authorization);

    public Uri Address { get; }

    public IReadOnlyList<Request> Requests => [.. _requests];

    public IEnumerable<Request> BlobRequests => Requests.Where(r => r.Path.Contains("/blobs/", StringComparison.Ordinal));

    /// <summary>The first model-blob response (without a Range header) is cut after this many bytes.</summary>
    public long? CutFirstBlobAfter { get; set; }

    /// <summary>Every model blob is served with one byte changed (same length).</summary>
    public bool CorruptBlobs { get; set; }

    /// <summary>Range headers are ignored: always 200 with the whole blob.</summary>
    public bool IgnoreRange { get; set; }

    /// <summary>Blobs are sent in 16 KiB pieces with this pause between them.</summary>
    public TimeSpan BlobChunkDelay { get; set; }

    /// <summary>Extra bytes appended to every model blob.</summary>
    public byte[] AppendToBlobs { get; set; } = [];

    /// <summary>Model-blob requests are answered with a 307 to here (+ the request path).</summary>
    public Uri? RedirectBlobsTo { get; set; }

    /// <summary>When set, requests without this bearer token get 401.</summary>
    public string? RequiredKey { get; set; }

    public static async Task<FakeMirror> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeMirror? mirror = null;
        app.Run(context => mirror!.HandleAsync(context));
        await app.StartAsync();
        mirror = new FakeMirror(app, new Uri(app.Urls.Single().TrimEnd('/') + "/"));
        return mirror;
    }

    /// <summary>Serves <paramref name="model"/> as <paramref name="repository"/>:<paramref name="tag"/> the way a Sovereign node does.</summary>
    public OciImage AddModel(string repository, string tag, byte[] model, ModelManifest? metadata = null)
    {
        var digest = Digest(model);
        var manifest = (metadata ?? new ModelManifest { Name = "x", Tag = "y", Digest = digest, Size = model.Length }) with { Digest = digest, Size = model.Length };
        var image = OciImage.From(manifest);
        _manifests[$"{repository}:{tag}"] = image.ManifestBytes;
        _blobs[image.ConfigDigest] = image.ConfigBytes;
        _blobs[digest] = model;
        return image;
    }

    /// <summary>Serves a hand-written manifest.</summary>
    public void AddManifest(string repository, string tag, string json) => _manifests[$"{repository}:{tag}"] = Encoding.UTF8.GetBytes(json);

    public void AddBlob(byte[] bytes) => _blobs[Digest(bytes)] = bytes;

    public static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        _requests.Enqueue(new Request(request.Method, path, request.Headers.Range.ToString() is { Length: > 0 } r ? r : null,
            request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null));
        if (RequiredKey is not null && request.Headers.Authorization.ToString() != "Bearer " + RequiredKey)
        {
            context.Response.StatusCode = 401;
            return;
        }

        var manifestAt = path.IndexOf("/manifests/", StringComparison.Ordinal);
        if (path.StartsWith("/v2/", StringComparison.Ordinal) && manifestAt > 0)
        {
            var key = $"{path[4..manifestAt]}:{path[(manifestAt + "/manifests/".Length)..]}";
            if (!_manifests.TryGetValue(key, out var manifest))
            {
                context.Response.StatusCode = 404;
                return;
            }
            context.Response.ContentType = OciMediaTypes.Manifest;
            await context.Response.Body.WriteAsync(manifest);
            return;
        }

        var blobAt = path.IndexOf("/blobs/", StringComparison.Ordinal);
        if (!path.StartsWith("/v2/", StringComparison.Ordinal) || blobAt < 0 || !_blobs.TryGetValue(path[(blobAt + "/blobs/".Length)..], out var blob))
        {
            context.Response.StatusCode = 404;
            return;
        }
        var isModel = blob.Length == 0 || blob[0] != (byte)'{'; // config blobs are JSON
        if (isModel && RedirectBlobsTo is { } target)
        {
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = new Uri(target, path.TrimStart('/')).ToString();
            return;
        }
        if (isModel)
        {
            if (CorruptBlobs)
            {
                blob = (byte[])blob.Clone();
                blob[blob.Length / 2] ^= 0xFF;
            }
            if (AppendToBlobs.Length > 0) blob = [.. blob, .. AppendToBlobs];
        }

        long start = 0;
        var range = request.Headers.Range.ToString();
        if (!IgnoreRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range[6..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (start >= blob.Length)
            {
                context.Response.StatusCode = 416;
                return;
            }
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {start}-{blob.Length - 1}/{blob.Length}";
        }
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = blob.Length - start;

        long? cutAt = null;
        if (isModel && range.Length == 0 && CutFirstBlobAfter is { } cut && Interlocked.Increment(ref _blobRequests) == 1) cutAt = cut;
        var position = (int)start;
        while (position < blob.Length)
        {
            var size = Math.Min(16 * 1024, blob.Length - position);
            if (cutAt is { } limit && position + size >= limit)
            {
                await context.Response.Body.WriteAsync(blob.AsMemory(position, (int)(limit - position)));
                await context.Response.Body.FlushAsync();
                await Task.Delay(50);
                context.Abort();
                return;
            }
            await context.Response.Body.WriteAsync(blob.AsMemory(position, size));
            position += size;
            if (BlobChunkDelay > TimeSpan.Zero)
            {
                await context.Response.Body.FlushAsync();
                await Task.Delay(BlobChunkDelay, context.RequestAborted);
            }
        }
    }
}

/// <summary>
/// A transport that answers from a script instead of the network and records every request it is handed, so a test
/// can show which hosts were (never) contacted. Thread-safe.
/// </summary>
internal sealed class RecordingTransport(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
{
    private readonly ConcurrentQueue<(Uri Uri, string? Authorization)> _seen = new();

    public IReadOnlyList<(Uri Uri, string? Authorization)> Seen => [.. _seen];

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _seen.Enqueue((request.RequestUri!, request.Headers.Authorization?.ToString()));
        return Task.FromResult(answer(request));
    }
}
