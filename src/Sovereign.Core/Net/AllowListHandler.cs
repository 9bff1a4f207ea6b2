using Sovereign.Core.Errors;

namespace Sovereign.Core.Net;

/// <summary>
/// The one door for outbound HTTP. Every HttpClient the platform creates goes through this handler, which
/// refuses any host that configuration does not name, so no code path can reach the internet by accident.
/// Loopback is always allowed (runners, local tools). Thread-safe: the allow-list is immutable.
/// </summary>
public sealed class AllowListHandler : DelegatingHandler
{
    private readonly HashSet<string> _allowed;

    public AllowListHandler(IEnumerable<string> allowedHosts, HttpMessageHandler? inner = null)
        : base(inner ?? new SocketsHttpHandler { AllowAutoRedirect = false })
    {
        _allowed = new HashSet<string>(allowedHosts.Select(Normalize), StringComparer.OrdinalIgnoreCase);
    }

    public bool IsAllowed(Uri uri) =>
        uri.IsLoopback || _allowed.Contains(uri.Host) || _allowed.Contains($"{uri.Host}:{uri.Port}");

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri ?? throw new InvalidOperationException("A request without an address.");
        if (!IsAllowed(uri))
        {
            throw new SovereignException(ErrorKind.Forbidden,
                $"Outbound connection to '{uri.Host}' refused: it is not in Sovereign:AllowedHosts. Sovereign only talks to hosts its configuration names.",
                code: "host_not_allowed");
        }
        return base.SendAsync(request, cancellationToken);
    }

    private static string Normalize(string host)
    {
        host = host.Trim();
        if (Uri.TryCreate(host, UriKind.Absolute, out var uri)) return uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
        return host.TrimEnd('/');
    }
}
