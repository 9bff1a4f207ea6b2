using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sovereign.Cli;

/// <summary>The CLI's HTTP client for a running server. Errors in OpenAI's shape become one-line <see cref="CliException"/>s.</summary>
internal sealed class ServerClient : IDisposable
{
    private readonly HttpClient _http;

    public ServerClient()
    {
        // Only the configured server is ever contacted; no proxy is consulted.
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(CliEnvironment.ServerUrl + "/"), Timeout = Timeout.InfiniteTimeSpan };
        var key = CliEnvironment.ApiKey;
        if (key is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
    }

    public async Task<JsonNode> GetAsync(string path, CancellationToken ct)
    {
        using var response = await _http.GetAsync(path, ct);
        return await ReadAsync(response, ct);
    }

    /// <summary>GETs a non-JSON body (e.g. CSV); an error status throws as for JSON.</summary>
    public async Task<string> GetTextAsync(string path, CancellationToken ct)
    {
        using var response = await _http.GetAsync(path, ct);
        if (!response.IsSuccessStatusCode) await ReadAsync(response, ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    public async Task<JsonNode> PostAsync(string path, object body, CancellationToken ct)
    {
        using var response = await _http.PostAsJsonAsync(path, body, ct);
        return await ReadAsync(response, ct);
    }

    /// <summary>Posts a prepared body (e.g. a multipart upload).</summary>
    public async Task<JsonNode> PostContentAsync(string path, HttpContent content, CancellationToken ct)
    {
        using var response = await _http.PostAsync(path, content, ct);
        return await ReadAsync(response, ct);
    }

    public async Task<JsonNode> PatchAsync(string path, object body, CancellationToken ct)
    {
        using var response = await _http.PatchAsJsonAsync(path, body, ct);
        return await ReadAsync(response, ct);
    }

    public async Task<JsonNode> PutAsync(string path, object body, CancellationToken ct)
    {
        using var response = await _http.PutAsJsonAsync(path, body, ct);
        return await ReadAsync(response, ct);
    }

    public async Task<JsonNode> DeleteAsync(string path, CancellationToken ct)
    {
        using var response = await _http.DeleteAsync(path, ct);
        return await ReadAsync(response, ct);
    }

    /// <summary>Posts and returns the response for streaming; throws on an error status.</summary>
    public async Task<HttpResponseMessage> PostStreamAsync(string path, object body, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode)
        {
            using (response) await ReadAsync(response, ct);
        }
        return response;
    }

    private static async Task<JsonNode> ReadAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        JsonNode? node = null;
        try
        {
            node = text.Length == 0 ? new JsonObject() : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
        }
        if (!response.IsSuccessStatusCode)
        {
            var message = node?["error"]?["message"]?.GetValue<string>() ?? node?["error"]?.ToString() ?? text;
            var hint = (int)response.StatusCode == 401 ? " (set SOV_API_KEY, or run on the server's data folder so the admin key is found)" : "";
            throw new CliException($"{message}{hint} [HTTP {(int)response.StatusCode}]");
        }
        return node ?? new JsonObject();
    }

    public void Dispose() => _http.Dispose();
}
