using System.Globalization;
using System.Text.Json;
using Sovereign.Core.Generation;
using Sovereign.Core.Options;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Ollama;

/// <summary>What a request's <c>options</c> ask of one generation, after checking.</summary>
/// <param name="Sampling">Sampling, with Ollama's defaults for what the request leaves out.</param>
/// <param name="NumPredict">Most tokens to generate; null for no limit (num_predict -1 or -2: until a stop or the context is full).</param>
/// <param name="NumCtx">Most tokens of prompt and completion together; null for the engine's per-slot context.</param>
/// <param name="Stop">Stop strings.</param>
internal sealed record OllamaGenerationOptions(SamplingParameters Sampling, int? NumPredict, int? NumCtx, IReadOnlyList<string> Stop);

/// <summary>
/// Maps Ollama's request fields onto the engine, reporting every bad value (naming it) to a
/// <see cref="RequestProblems"/> so the client learns them all at once. Stateless; thread-safe.
/// <list type="bullet">
/// <item><c>options</c>: temperature, top_k, top_p, min_p, seed (negative: random), stop, repeat_penalty,
/// presence_penalty, frequency_penalty, num_predict (-1 no limit, -2 fill the context), num_ctx. What a request leaves
/// out takes Ollama's default (temperature 0.8, top_k 40, top_p 0.9, min_p 0, repeat_penalty 1.1). Ollama's other
/// options (mirostat, num_gpu, num_thread, typical_p, …) tune a runner this server configures itself; they are
/// accepted and ignored, as Ollama ignores options it does not know.</item>
/// <item><c>num_ctx</c> caps prompt plus completion for this request only: the runner's context per slot is fixed
/// when the model loads (Sovereign:Engine:ContextSize, at most the model's training context), so a num_ctx larger
/// than that context means that context, and a smaller one ends the completion (done_reason "length") once prompt
/// and completion reach it. A prompt that alone fills num_ctx is refused (400).</item>
/// <item><c>keep_alive</c>: a Go duration string ("5m", "1h30m", "300ms", "0"), or a number of seconds; 0 unloads
/// when idle, negative keeps the model loaded, absent means Sovereign:Engine:KeepAlive.</item>
/// </list>
/// </summary>
internal static class OllamaRequestMapper
{
    // Ollama's defaults (api.DefaultOptions) for the sampling settings a request leaves out.
    public const float DefaultTemperature = 0.8f;
    public const int DefaultTopK = 40;
    public const float DefaultTopP = 0.9f;
    public const float DefaultMinP = 0.0f;
    public const float DefaultRepeatPenalty = 1.1f;

    /// <summary>Keep the model loaded until it is evicted or unloaded (a negative keep_alive).</summary>
    public static readonly TimeSpan KeepLoaded = Timeout.InfiniteTimeSpan;

    public static OllamaGenerationOptions Options(JsonElement? options, LimitsOptions limits, RequestProblems problems)
    {
        var sampling = new SamplingParameters
        {
            Temperature = DefaultTemperature,
            TopK = DefaultTopK,
            TopP = DefaultTopP,
            MinP = DefaultMinP,
            RepeatPenalty = DefaultRepeatPenalty,
        };
        if (options is not { } element || element.ValueKind == JsonValueKind.Null) return new OllamaGenerationOptions(sampling, null, null, []);
        if (element.ValueKind != JsonValueKind.Object)
        {
            problems.Add("options", $"options must be an object of model parameters, got {Describe(element)}.", "invalid_type");
            return new OllamaGenerationOptions(sampling, null, null, []);
        }

        int? numPredict = null;
        int? numCtx = null;
        IReadOnlyList<string> stop = [];
        foreach (var option in element.EnumerateObject())
        {
            var value = option.Value;
            if (value.ValueKind == JsonValueKind.Null) continue;
            switch (option.Name)
            {
                case "temperature":
                    if (Float(value, option.Name, problems) is { } temperature) sampling = sampling with { Temperature = temperature };
                    break;
                case "top_k":
                    if (Integer(value, option.Name, problems) is { } topK) sampling = sampling with { TopK = (int)Math.Clamp(topK, int.MinValue, int.MaxValue) };
                    break;
                case "top_p":
                    if (Float(value, option.Name, problems) is { } topP) sampling = sampling with { TopP = topP };
                    break;
                case "min_p":
                    if (Float(value, option.Name, problems) is { } minP) sampling = sampling with { MinP = minP };
                    break;
                case "repeat_penalty":
                    if (Float(value, option.Name, problems) is { } repeat) sampling = sampling with { RepeatPenalty = repeat };
                    break;
                case "presence_penalty":
                    if (Float(value, option.Name, problems) is { } presence) sampling = sampling with { PresencePenalty = presence };
                    break;
                case "frequency_penalty":
                    if (Float(value, option.Name, problems) is { } frequency) sampling = sampling with { FrequencyPenalty = frequency };
                    break;
                case "seed":
                    // Ollama's default seed is -1: a random one.
                    if (Integer(value, option.Name, problems) is { } seed) sampling = sampling with { Seed = seed < 0 ? null : SamplingRequestMapper.FoldSeed(seed) };
                    break;
                case "stop":
                    stop = Stop(value, limits, problems);
                    break;
                case "num_predict":
                    numPredict = NumPredict(value, limits, problems);
                    break;
                case "num_ctx":
                    if (Integer(value, option.Name, problems) is { } ctx)
                    {
                        if (ctx < 1) problems.Add("options.num_ctx", $"options.num_ctx must be at least 1, got {ctx}.", "invalid_value");
                        else numCtx = (int)Math.Min(ctx, int.MaxValue);
                    }
                    break;
                default:
                    // Runner settings this server configures itself (num_gpu, num_thread, mirostat, typical_p, …) and
                    // names Ollama does not know either: ignored, as Ollama ignores options it does not use.
                    break;
            }
        }
        foreach (var (param, message) in sampling.Validate())
            problems.Add($"options.{param}", $"options.{message}", "invalid_value");
        return new OllamaGenerationOptions(sampling, numPredict, numCtx, stop);
    }

    /// <summary>
    /// keep_alive: null when absent (the configured default); <see cref="TimeSpan.Zero"/> to unload when idle;
    /// <see cref="KeepLoaded"/> for a negative value. Strings are Go durations; a bare number, in a string or not, is seconds.
    /// </summary>
    public static TimeSpan? KeepAlive(JsonElement? keepAlive, RequestProblems problems)
    {
        if (keepAlive is not { } element || element.ValueKind == JsonValueKind.Null) return null;
        switch (element.ValueKind)
        {
            case JsonValueKind.Number when element.TryGetDouble(out var seconds) && double.IsFinite(seconds):
                return Seconds(seconds);
            case JsonValueKind.String:
                var text = element.GetString()!.Trim();
                if (text.Length == 0) return null;
                if (double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
                    return Seconds(number);
                if (TryParseGoDuration(text, out var duration)) return duration < TimeSpan.Zero ? KeepLoaded : duration;
                break;
        }
        problems.Add("keep_alive",
            $"keep_alive must be a duration such as \"5m\", \"1h30m\" or \"0\", or a number of seconds (negative keeps the model loaded); got {Describe(element)}.",
            "invalid_value");
        return null;
    }

    private static TimeSpan Seconds(double seconds) =>
        seconds < 0 ? KeepLoaded
        : seconds >= TimeSpan.MaxValue.TotalSeconds ? TimeSpan.MaxValue
        : TimeSpan.FromSeconds(seconds);

    /// <summary>
    /// Go's time.ParseDuration: an optional sign, then one or more decimal numbers each with a unit (ns, us, µs, ms,
    /// s, m, h), e.g. "1h30m", "2.5s"; "0" alone needs no unit. Values beyond <see cref="TimeSpan.MaxValue"/> are clamped.
    /// </summary>
    public static bool TryParseGoDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var s = text.AsSpan().Trim();
        var negative = false;
        if (s.Length > 0 && s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        if (s.SequenceEqual("0")) return true;
        if (s.Length == 0) return false;

        decimal seconds = 0;
        while (s.Length > 0)
        {
            var digits = 0;
            while (digits < s.Length && (char.IsAsciiDigit(s[digits]) || s[digits] == '.')) digits++;
            if (digits == 0 || !decimal.TryParse(s[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
                return false;
            s = s[digits..];
            var unitLength = 0;
            while (unitLength < s.Length && !char.IsAsciiDigit(s[unitLength]) && s[unitLength] != '.') unitLength++;
            decimal? unit = s[..unitLength] switch
            {
                "ns" => 0.000_000_001m,
                "us" or "µs" or "μs" => 0.000_001m,
                "ms" => 0.001m,
                "s" => 1m,
                "m" => 60m,
                "h" => 3600m,
                _ => null,
            };
            if (unit is null) return false;
            s = s[unitLength..];
            try
            {
                seconds += amount * unit.Value;
            }
            catch (OverflowException)
            {
                seconds = decimal.MaxValue;
            }
        }
        var magnitude = seconds >= (decimal)TimeSpan.MaxValue.TotalSeconds ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)(seconds * TimeSpan.TicksPerSecond));
        value = negative ? magnitude.Negate() : magnitude;
        return true;
    }


    /// <summary>think: no model here separates its reasoning from its answer; false is accepted.</summary>
    public static void RefuseThink(JsonElement? think, RequestProblems problems)
    {
        if (think is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.False) return;
        problems.Unsupported("think", "think is not supported: no model on this server separates its thinking from its answer; send think false or leave it out.");
    }

    public static bool IsNonEmptyArray(JsonElement? value) =>
        value is { ValueKind: JsonValueKind.Array } array && array.GetArrayLength() > 0;

    private static int? NumPredict(JsonElement value, LimitsOptions limits, RequestProblems problems)
    {
        if (Integer(value, "num_predict", problems) is not { } n) return null;
        if (n is -1 or -2) return null;
        if (n < 1)
        {
            problems.Add("options.num_predict", $"options.num_predict must be a positive number of tokens, -1 (no limit) or -2 (fill the context), got {n}.", "invalid_value");
            return null;
        }
        if (n > limits.MaxCompletionTokens)
        {
            problems.Add("options.num_predict",
                $"options.num_predict must be at most {limits.MaxCompletionTokens} (Sovereign:Limits:MaxCompletionTokens), got {n}; -1 means no limit.", "invalid_value");
            return null;
        }
        return (int)n;
    }

    private static IReadOnlyList<string> Stop(JsonElement value, LimitsOptions limits, RequestProblems problems)
    {
        List<string> values = [];
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                values.Add(value.GetString()!);
                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        problems.Add("options.stop", $"options.stop must be an array of strings, but it holds {Describe(item)}.", "invalid_type");
                        return [];
                    }
                    values.Add(item.GetString()!);
                }
                break;
            default:
                problems.Add("options.stop", $"options.stop must be an array of strings, got {Describe(value)}.", "invalid_type");
                return [];
        }
        values.RemoveAll(s => s.Length == 0);
        if (values.Count > limits.MaxStopStrings)
        {
            problems.Add("options.stop", $"options.stop may hold at most {limits.MaxStopStrings} strings (Sovereign:Limits:MaxStopStrings), got {values.Count}.", "invalid_value");
            return [];
        }
        return values;
    }

    private static float? Float(JsonElement value, string name, RequestProblems problems)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && double.IsFinite(d) && Math.Abs(d) <= float.MaxValue) return (float)d;
        problems.Add($"options.{name}", $"options.{name} must be a number, got {Describe(value)}.", "invalid_type");
        return null;
    }

    private static long? Integer(JsonElement value, string name, RequestProblems problems)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (value.TryGetInt64(out var n)) return n;
            // Some clients write every number as a float (40.0).
            if (value.TryGetDouble(out var d) && d == Math.Floor(d) && d >= long.MinValue && d <= long.MaxValue) return (long)d;
        }
        problems.Add($"options.{name}", $"options.{name} must be a whole number, got {Describe(value)}.", "invalid_type");
        return null;
    }

    internal static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(value.GetString()!)}\"",
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
