using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sovereign.Agents.Tools.Http;

/// <summary>
/// The built-in HTTP request tool. It reaches only hosts in <c>Sovereign:AllowedHosts</c>, and even then:
/// <list type="number">
/// <item>it resolves the name itself and connects to the address it checked (no second lookup a DNS answer could change);</item>
/// <item>loopback, private, link-local and unique-local addresses only for hosts explicitly allowed as internal; metadata never;</item>
/// <item>redirects are followed only within the same scheme, host and port, at most <see cref="HttpToolOptions.MaxRedirects"/>;</item>
/// <item>responses larger than <see cref="HttpToolOptions.MaxResponseBytes"/> and requests longer than <see cref="HttpToolOptions.Timeout"/> are refused;</item>
/// <item>no proxy from the environment, no cookies, no credentials of the platform's.</item>
/// </list>
/// Thread-safe; owns one connection pool, disposed with the tool.
/// </summary>
public sealed class HttpRequestTool : IAgentTool, IDisposable
{
    public const string ToolName = "http_request";

    private static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
    private static readonly HashSet<string> ForbiddenHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Proxy-Authorization", "TE", "Trailer", "Keep-Alive",
    };

    private readonly HashSet<string> _allowed;
    private readonly HashSet<string> _internal;
    private readonly HttpToolOptions _options;
    private readonly HttpMessageInvoker _http;

    public HttpRequestTool(IEnumerable<string> allowedHosts, HttpToolOptions options)
    {
        _allowed = new HashSet<string>(allowedHosts.Select(Normalize), StringComparer.OrdinalIgnoreCase);
        _internal = new HashSet<string>(options.InternalHosts.Select(Normalize), StringComparer.OrdinalIgnoreCase);
        _options = options;
        _http = new HttpMessageInvoker(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            Credentials = null,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectCallback = ConnectAsync,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        });
    }

    public string Name => ToolName;

    public string Description =>
        "Sends an HTTP request to one of the organisation's allowed hosts and returns the status, content type and body (text only).";

    public JsonElement ParametersSchema { get; } = ToolArguments.Schema("""
        {
          "type": "object",
          "properties": {
            "url": { "type": "string", "description": "Absolute http or https URL on an allowed host" },
            "method": { "type": "string", "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] },
            "headers": { "type": "object", "additionalProperties": { "type": "string" } },
            "body": { "type": "string" }
          },
          "required": ["url"],
          "additionalProperties": false
        }
        """);

    public async Task<ToolResult> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        try
        {
            var url = ToolArguments.RequiredString(arguments, "url");
            var method = (ToolArguments.OptionalString(arguments, "method") ?? "GET").ToUpperInvariant();
            if (!Methods.Contains(method)) throw new ToolArgumentException($"The method '{method}' is not supported; use {string.Join(", ", Methods)}.");
            var body = ToolArguments.OptionalString(arguments, "body");
            var headers = Headers(arguments);
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                throw new ToolArgumentException($"'{url}' is not an absolute http or https URL.");
            if (!string.IsNullOrEmpty(uri.UserInfo)) throw new ToolArgumentException("URLs with user names or passwords are not accepted.");

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.Timeout);
            try
            {
                return await SendAsync(uri, new HttpMethod(method), headers, body, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return ToolResult.Error($"The request to {uri.Host} took longer than {_options.Timeout.TotalSeconds:0.#} s and was abandoned.");
            }
        }
        catch (ToolArgumentException e)
        {
            return ToolResult.Error(e.Message);
        }
        catch (HttpToolRefusal e)
        {
            return ToolResult.Error(e.Message);
        }
    }

    private async Task<ToolResult> SendAsync(Uri uri, HttpMethod method, List<KeyValuePair<string, string>> headers, string? body, CancellationToken ct)
    {
        for (var redirects = 0; ; redirects++)
        {
            CheckHost(uri);
            using var request = new HttpRequestMessage(method, uri);
            if (body is not null && method != HttpMethod.Get && method != HttpMethod.Head) request.Content = new StringContent(body, Encoding.UTF8);
            foreach (var (name, value) in headers)
            {
                if (!request.Headers.TryAddWithoutValidation(name, value) && !(request.Content?.Headers.TryAddWithoutValidation(name, value) ?? false))
                    throw new ToolArgumentException($"The header '{name}' cannot be sent with this request.");
            }

            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, ct);
            }
            catch (HttpRequestException e) when (Find<HttpToolRefusal>(e) is { } refusal)
            {
                throw refusal;
            }
            catch (HttpRequestException e)
            {
                return ToolResult.Error($"The request to {uri.Host} failed: {e.Message}");
            }

            using (response)
            {
                if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
                {
                    var next = location.IsAbsoluteUri ? location : new Uri(uri, location);
                    if (!SameOrigin(uri, next))
                        throw new HttpToolRefusal($"{uri.Host} answered {(int)response.StatusCode} with a redirect to another host ({next.GetLeftPart(UriPartial.Authority)}), which is not followed.");
                    if (redirects >= _options.MaxRedirects)
                        throw new HttpToolRefusal($"More than {_options.MaxRedirects} redirects from {uri.Host}; stopped.");
                    if (response.StatusCode == HttpStatusCode.SeeOther || (method == HttpMethod.Post && (int)response.StatusCode is 301 or 302))
                    {
                        method = HttpMethod.Get;
                        body = null;
                    }
                    uri = next;
                    continue;
                }
                return await ReadAsync(response, uri, ct);
            }
        }
    }

    private async Task<ToolResult> ReadAsync(HttpResponseMessage response, Uri uri, CancellationToken ct)
    {
        var max = _options.MaxResponseBytes;
        if (response.Content.Headers.ContentLength is { } declared && declared > max)
            throw new HttpToolRefusal($"The response from {uri.Host} is {declared} bytes, more than the {max} bytes the HTTP tool reads.");

        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > max)
                throw new HttpToolRefusal($"The response from {uri.Host} is more than the {max} bytes the HTTP tool reads.");
            buffer.Write(chunk, 0, read);
        }

        var contentType = response.Content.Headers.ContentType;
        var result = new JsonObject
        {
            ["url"] = uri.ToString(),
            ["status"] = (int)response.StatusCode,
            ["content_type"] = contentType?.ToString(),
        };
        if (IsText(contentType)) result["body"] = Decode(buffer.ToArray(), contentType);
        else result["body_omitted"] = $"{buffer.Length} bytes of {contentType?.MediaType ?? "unknown content"}, not text";
        return new ToolResult(result.ToJsonString(), IsError: !response.IsSuccessStatusCode);
    }

    /// <summary>:: The connection step: resolve, check every address, connect to a checked one.</summary>
    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var port = context.DnsEndPoint.Port;
        var literal = IPAddress.TryParse(host, out var parsed);
        // An allowed IP literal names its address explicitly; a name may resolve to internal addresses only when listed as internal.
        var internalAllowed = literal ? IsListed(_allowed, host, port) : IsListed(_internal, host, port);
        IPAddress[] addresses;
        try
        {
            addresses = literal ? [parsed!] : await Dns.GetHostAddressesAsync(host, ct);
        }
        catch (SocketException e)
        {
            throw new HttpToolRefusal($"The name '{host}' could not be resolved ({e.SocketErrorCode}).");
        }
        foreach (var address in addresses)
        {
            if (AddressPolicy.Refusal(address, internalAllowed) is { } why)
                throw new HttpToolRefusal(literal ? $"{host} is {why}." : $"'{host}' resolves to {address}, {why}.");
        }
        if (addresses.Length == 0) throw new HttpToolRefusal($"The name '{host}' has no addresses.");

        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
        }
        throw new HttpRequestException($"Could not connect to {host}:{port}.", last);
    }

    private void CheckHost(Uri uri)
    {
        if (!IsListed(_allowed, uri.IdnHost, uri.Port))
            throw new HttpToolRefusal($"The host '{uri.Authority}' is not in the organisation's allow-list (Sovereign:AllowedHosts); the HTTP tool reaches only listed hosts.");
    }

    private static bool IsListed(HashSet<string> hosts, string host, int port)
    {
        host = host.Trim('[', ']');
        return hosts.Contains(host) || hosts.Contains($"{host}:{port}");
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private static List<KeyValuePair<string, string>> Headers(JsonElement arguments)
    {
        var headers = new List<KeyValuePair<string, string>>();
        if (!arguments.TryGetProperty("headers", out var element) || element.ValueKind == JsonValueKind.Null) return headers;
        if (element.ValueKind != JsonValueKind.Object) throw new ToolArgumentException("The argument 'headers' must be an object of header names to string values.");
        foreach (var header in element.EnumerateObject())
        {
            if (header.Value.ValueKind != JsonValueKind.String) throw new ToolArgumentException($"The header '{header.Name}' must have a string value.");
            if (ForbiddenHeaders.Contains(header.Name)) throw new ToolArgumentException($"The header '{header.Name}' is set by the platform and cannot be given.");
            headers.Add(new(header.Name, header.Value.GetString()!));
        }
        return headers;
    }

    private static bool IsText(MediaTypeHeaderValue? type)
    {
        var media = type?.MediaType;
        if (media is null) return true;
        return media.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
            || media.EndsWith("json", StringComparison.OrdinalIgnoreCase)
            || media.EndsWith("xml", StringComparison.OrdinalIgnoreCase)
            || media.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
    }

    private static string Decode(byte[] bytes, MediaTypeHeaderValue? type)
    {
        try
        {
            var encoding = type?.CharSet is { Length: > 0 } charset ? Encoding.GetEncoding(charset.Trim('"')) : Encoding.UTF8;
            return encoding.GetString(bytes);
        }
        catch (ArgumentException)
        {
            return Encoding.UTF8.GetString(bytes);
        }
    }

    private static string Normalize(string host)
    {
        host = host.Trim();
        if (Uri.TryCreate(host, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            return uri.IsDefaultPort ? uri.IdnHost : $"{uri.IdnHost}:{uri.Port}";
        return host.TrimEnd('/').Replace("[", "", StringComparison.Ordinal).Replace("]", "", StringComparison.Ordinal);
    }

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
            if (e is T found) return found;
        return null;
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>A request the HTTP tool will not make; the message says why, for the model and the trace.</summary>
public sealed class HttpToolRefusal(string message) : Exception(message);
