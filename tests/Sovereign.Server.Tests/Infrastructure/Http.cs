using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Sovereign.Server.Tests.Infrastructure;

internal static class Http
{
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<(HttpStatusCode Status, JsonNode Body)> PostJsonAsync(this HttpClient client, string path, string json)
    {
        using var response = await client.PostAsync(path, Json(json));
        return (response.StatusCode, await BodyAsync(response));
    }

    public static async Task<(HttpStatusCode Status, JsonNode Body)> GetJsonAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return (response.StatusCode, await BodyAsync(response));
    }

    public static async Task<JsonNode> BodyAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) ?? throw new InvalidOperationException("Empty JSON body");
    }

    /// <summary>Asserts OpenAI's error shape (all four fields present) and returns the error object.</summary>
    public static JsonObject AssertOpenAiError(JsonNode body, string type, string? code = null, string? param = null)
    {
        var error = Assert.IsType<JsonObject>(body["error"]);
        Assert.Equal(["message", "type", "param", "code"], error.Select(p => p.Key));
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.Equal(type, error["type"]!.GetValue<string>());
        if (code is not null) Assert.Equal(code, error["code"]?.GetValue<string>());
        if (param is not null) Assert.Equal(param, error["param"]?.GetValue<string>());
        return error;
    }
}
