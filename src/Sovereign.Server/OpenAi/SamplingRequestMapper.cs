using System.Text.Json;
using Sovereign.Core.Generation;
using Sovereign.Core.Options;

namespace Sovereign.Server.OpenAi;

/// <summary>Maps and checks the fields chat and text completions share. Stateless; thread-safe.</summary>
internal static class SamplingRequestMapper
{
    /// <summary>Sampling settings (unset fields keep <see cref="SamplingParameters"/>' defaults); range errors go to <paramref name="problems"/>.</summary>
    public static SamplingParameters Sampling(SamplingRequestBase request, RequestProblems problems)
    {
        var defaults = new SamplingParameters();
        var sampling = new SamplingParameters
        {
            Temperature = request.Temperature ?? defaults.Temperature,
            TopP = request.TopP ?? defaults.TopP,
            TopK = request.TopK ?? defaults.TopK,
            MinP = request.MinP ?? defaults.MinP,
            Seed = request.Seed is { } seed ? FoldSeed(seed) : null,
            PresencePenalty = request.PresencePenalty ?? defaults.PresencePenalty,
            FrequencyPenalty = request.FrequencyPenalty ?? defaults.FrequencyPenalty,
            RepeatPenalty = request.RepeatPenalty ?? defaults.RepeatPenalty,
        };
        foreach (var (param, message) in sampling.Validate()) problems.Add(param, message, "invalid_value");
        return sampling;
    }

    /// <summary>
    /// OpenAI's seed is any 64-bit integer; the engine's is 32 bits. Folding both halves keeps every distinct small
    /// seed distinct and maps each 64-bit seed to one fixed 32-bit seed, so "same seed, same output" still holds.
    /// </summary>
    public static uint FoldSeed(long seed) => unchecked((uint)seed ^ (uint)(seed >> 32));

    public static int? MaxTokens(int? value, string param, LimitsOptions limits, RequestProblems problems)
    {
        if (value is not { } n) return null;
        if (n < 1) problems.Add(param, $"{param} must be at least 1, got {n}.", "invalid_value");
        else if (n > limits.MaxCompletionTokens)
            problems.Add(param, $"{param} must be at most {limits.MaxCompletionTokens} (Sovereign:Limits:MaxCompletionTokens), got {n}.", "invalid_value");
        return n;
    }

    /// <summary>stop: a string or an array of strings; empty strings are dropped (they would stop at once).</summary>
    public static IReadOnlyList<string> Stop(JsonElement? stop, LimitsOptions limits, RequestProblems problems)
    {
        if (stop is not { } element || element.ValueKind == JsonValueKind.Null) return [];
        List<string> values = [];
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                values.Add(element.GetString()!);
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        problems.Add("stop", "stop must be a string or an array of strings.", "invalid_type");
                        return [];
                    }
                    values.Add(item.GetString()!);
                }
                break;
            default:
                problems.Add("stop", "stop must be a string or an array of strings.", "invalid_type");
                return [];
        }
        values.RemoveAll(s => s.Length == 0);
        if (values.Count > limits.MaxStopStrings)
            problems.Add("stop", $"stop may hold at most {limits.MaxStopStrings} strings (Sovereign:Limits:MaxStopStrings), got {values.Count}.", "invalid_value");
        return values;
    }

    /// <summary>n, stream_options.</summary>
    public static void CheckShared(SamplingRequestBase request, RequestProblems problems)
    {
        if (request.N is { } n && n != 1)
            problems.Add("n", $"n must be 1: this server returns one choice per request (got {n}).", "unsupported_value");
        if (request.StreamOptions is not null && request.Stream != true)
            problems.Add("stream_options", "stream_options is only allowed when stream is true.", "invalid_value");
    }

    public static bool IncludeUsage(SamplingRequestBase request) => request.StreamOptions?.IncludeUsage == true;

    public static void CheckPromptLength(long chars, string param, LimitsOptions limits, RequestProblems problems)
    {
        if (chars > limits.MaxPromptChars)
        {
            problems.Add(param,
                $"The prompt is {chars} characters long, more than this server accepts ({limits.MaxPromptChars}, Sovereign:Limits:MaxPromptChars). Shorten it.",
                "context_length_exceeded");
        }
    }
}
