using System.Net;
using System.Net.Http.Headers;
using Sovereign.Core.Errors;

namespace Sovereign.Models.Distribution;

/// <summary>
/// Requests to one mirror over the puller's allow-listed HttpClient. Redirects are followed here, one hop at a time
/// and at most <see cref="MaxRedirects"/>, so each hop passes the allow-list again (the transport itself never follows
/// one), and the mirror key goes only to the mirror's own origin. Thread-safe.
/// </summary>
internal sealed class MirrorClient(HttpClient http, Uri baseUri, string? key)
{
    public const int MaxRedirects = 5;

    public Uri BaseUri { get; } = baseUri;

    /// <summary>The mirror as shown in messages and in a pulled model's source.</summary>
    public string Display { get; } = baseUri.GetLeftPart(UriPartial.Path).TrimEnd('/');

    public Uri Resolve(string relative) => new(BaseUri, relative);

    /// <summary>Sends a GET and returns once the headers are in; the caller owns the response.</summary>
    public async Task<HttpResponseMessage> GetAsync(string relative, Action<HttpRequestHeaders>? headers, CancellationToken cancellationToken)
    {
        var uri = Resolve(relative);
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            headers?.Invoke(request.Headers);
            if (key is not null && SameOrigin(uri, BaseUri)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);

            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (SovereignException e) when (e.Code == "host_not_allowed" && hop > 0)
            {
                throw new SovereignException(ErrorKind.Forbidden,
                    $"Mirror {Display} redirected to {uri.GetLeftPart(UriPartial.Authority)}, which is not an allowed host (Sovereign:Mirrors, Sovereign:AllowedHosts); nothing was fetched from it.",
                    code: "host_not_allowed", inner: e);
            }
            if (!IsRedirect(response.StatusCode)) return response;

            var location = response.Headers.Location;
            response.Dispose();
            if (location is null)
                throw Failed($"answered {(int)response.StatusCode} without a Location to go to");
            if (hop >= MaxRedirects) throw Failed($"redirected more than {MaxRedirects} times");
            var next = location.IsAbsoluteUri ? location : new Uri(uri, location);
            if (next.Scheme is not ("http" or "https")) throw Failed($"redirected to a {next.Scheme}: address");
            uri = next;
        }
    }

    public SovereignException Failed(string problem, Exception? inner = null) =>
        new(ErrorKind.Unavailable, $"Mirror {Display} {problem}.", code: "mirror_failed", inner: inner) { RetryAfter = TimeSpan.FromSeconds(5) };

    private static bool IsRedirect(HttpStatusCode status) => status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found
        or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;
}
