using System.Text.Json;
using Sovereign.Core.Errors;
using Sovereign.Inference.Grammars;

namespace Sovereign.Server.OpenAi;

/// <summary>
/// Turns the wire's structured-output requests into a grammar for the engine: OpenAI's <c>response_format</c>
/// (<c>text</c>, <c>json_object</c>, <c>json_schema</c> with or without <c>strict</c>: the grammar always enforces the
/// schema), Ollama's <c>format</c> (<c>"json"</c> or a schema) and llama.cpp's raw <c>grammar</c> extension. Stateless;
/// thread-safe.
/// </summary>
internal static class StructuredOutput
{
    /// <summary>The grammar for a response_format, or null for free text; problems are added, never thrown.</summary>
    public static string? FromResponseFormat(JsonElement? responseFormat, RequestProblems problems)
    {
        if (responseFormat is not { } format || format.ValueKind == JsonValueKind.Null)
            return null;
        if (format.ValueKind != JsonValueKind.Object || !format.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            problems.Add("response_format", "Invalid 'response_format': expected an object with a 'type' of 'text', 'json_object' or 'json_schema'.", "invalid_type");
            return null;
        }
        switch (type.GetString())
        {
            case "text":
                return null;
            case "json_object":
                return JsonSchemaGrammar.AnyObject;
            case "json_schema":
                if (!format.TryGetProperty("json_schema", out var wrapper) || wrapper.ValueKind != JsonValueKind.Object)
                {
                    problems.Missing("response_format.json_schema");
                    return null;
                }
                if (wrapper.TryGetProperty("strict", out var strict) && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                    problems.Add("response_format.json_schema.strict", "Invalid type for 'response_format.json_schema.strict': expected a boolean.", "invalid_type");
                if (!wrapper.TryGetProperty("schema", out var schema) || schema.ValueKind == JsonValueKind.Null)
                {
                    // OpenAI allows a json_schema without a schema: any JSON object.
                    return JsonSchemaGrammar.AnyObject;
                }
                return Compile(schema, "response_format.json_schema.schema", problems);
            default:
                problems.Add("response_format.type", $"Invalid value for 'response_format.type': '{type.GetString()}'. Supported values are: 'text', 'json_object' and 'json_schema'.", "invalid_value");
                return null;
        }
    }

    /// <summary>Ollama's format: absent, "" → none; "json" → any object; an object → that schema.</summary>
    public static string? FromOllamaFormat(JsonElement? format, RequestProblems problems)
    {
        if (format is not { } element || element.ValueKind == JsonValueKind.Null)
            return null;
        if (element.ValueKind == JsonValueKind.String)
        {
            var text = element.GetString()!;
            if (text.Length == 0) return null;
            if (text == "json") return JsonSchemaGrammar.AnyObject;
            problems.Add("format", $"Invalid format '{text}': expected \"json\" or a JSON schema object.", "invalid_value");
            return null;
        }
        if (element.ValueKind == JsonValueKind.Object)
            return Compile(element, "format", problems);
        problems.Add("format", "Invalid format: expected \"json\" or a JSON schema object.", "invalid_type");
        return null;
    }

    /// <summary>llama.cpp's raw GBNF extension field; checked by the engine (a 400 invalid_grammar) before queueing.</summary>
    public static string? FromRawGrammar(string? grammar, string? current, RequestProblems problems)
    {
        if (grammar is null) return current;
        if (current is not null)
        {
            problems.Add("grammar", "grammar cannot be combined with response_format or format: send one of them.", "invalid_value");
            return current;
        }
        return grammar;
    }

    public static string? Compile(JsonElement schema, string param, RequestProblems problems)
    {
        try
        {
            return JsonSchemaGrammar.Compile(schema, param);
        }
        catch (SovereignException e)
        {
            problems.Add(e.Param ?? param, e.Message, e.Code);
            return null;
        }
    }
}
