using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Knowledge;

/// <summary>The knowledge API as a test drives it: real HTTP, real multipart uploads, polling for ingestion to end.</summary>
internal static class KnowledgeClient
{
    public static async Task<JsonNode> CreateBaseAsync(this HttpClient client, string name)
    {
        var (status, body) = await client.PostJsonAsync("v1/knowledge", $$"""{"name": "{{name}}"}""");
        Assert.True(status == HttpStatusCode.Created, body.ToJsonString());
        return body;
    }

    public static MultipartFormDataContent Files(params (string Name, byte[] Bytes, string Type)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, bytes, type) in files)
        {
            var part = new ByteArrayContent(bytes);
            part.Headers.ContentType = new MediaTypeHeaderValue(type);
            form.Add(part, "file", name);
        }
        return form;
    }

    public static (string, byte[], string) Text(string name, string text, string type = "text/plain") => (name, Encoding.UTF8.GetBytes(text), type);

    public static async Task<(HttpStatusCode Status, JsonNode Body)> UploadAsync(this HttpClient client, string kb, HttpContent content)
    {
        using var response = await client.PostAsync($"v1/knowledge/{kb}/documents", content);
        return (response.StatusCode, await Http.BodyAsync(response));
    }

    /// <summary>Uploads and waits until every document is ready or failed; returns the final document objects.</summary>
    public static async Task<List<JsonNode>> IngestAsync(this HttpClient client, string kb, params (string Name, byte[] Bytes, string Type)[] files)
    {
        var (status, body) = await client.UploadAsync(kb, Files(files));
        Assert.True(status == HttpStatusCode.Accepted, body.ToJsonString());
        var ids = body["data"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()).ToList();
        var done = new List<JsonNode>();
        foreach (var id in ids) done.Add(await client.WaitForDocumentAsync(kb, id));
        return done;
    }

    public static async Task<JsonNode> WaitForDocumentAsync(this HttpClient client, string kb, string id, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        while (true)
        {
            var (status, doc) = await client.GetJsonAsync($"v1/knowledge/{kb}/documents/{id}");
            Assert.Equal(HttpStatusCode.OK, status);
            var state = doc["status"]!.GetValue<string>();
            if (state is "ready" or "failed") return doc;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Document {id} is still {state}: {doc.ToJsonString()}");
            await Task.Delay(100);
        }
    }

    public static async Task<JsonArray> SearchAsync(this HttpClient client, string kb, string query, string mode = "hybrid", int topK = 5)
    {
        var (status, body) = await client.PostJsonAsync($"v1/knowledge/{kb}/search",
            new JsonObject { ["query"] = query, ["mode"] = mode, ["top_k"] = topK }.ToJsonString());
        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        return body["data"]!.AsArray();
    }
}
