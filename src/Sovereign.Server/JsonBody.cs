using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Sovereign.Core.Errors;

namespace Sovereign.Server;

/// <summary>
/// Reads a JSON request body ourselves, so that bad JSON is a 400 in OpenAI's shape with a message that says
/// what is wrong and where (not ASP.NET's problem details). Kestrel's body-size limit applies while reading.
/// </summary>
internal static class JsonBody
{
    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo) where T : class
    {
        T? value;
        try
        {
            value = await JsonSerializer.DeserializeAsync(request.Body, typeInfo, request.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            throw Describe(e);
        }
        return value ?? throw SovereignException.Invalid("The request body must be a JSON object, not null.", code: "invalid_json");
    }

    internal static SovereignException Describe(JsonException e)
    {
        var where = e.LineNumber is { } line ? $" (line {line + 1}, position {e.BytePositionInLine + 1})" : "";
        var param = ParamOf(e.Path);
        // The deserialiser's own words name .NET types; say it in the client's terms instead.
        if (param is not null && e.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
            return SovereignException.Invalid($"'{param}' has the wrong type or an out-of-range value{where}.", param, "invalid_type");
        if (e.LineNumber is 0 && e.BytePositionInLine is 0 && e.Message.Contains("does not contain any JSON tokens", StringComparison.Ordinal))
            return SovereignException.Invalid("The request body is empty; a JSON object was expected.", code: "invalid_json");
        var reason = e.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0].Trim();
        return SovereignException.Invalid($"The request body is not valid JSON{where}: {reason}", param, "invalid_json");
    }

    /// <summary>"$.messages[0].content" → "messages[0].content"; the root → null.</summary>
    private static string? ParamOf(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? null : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
}
