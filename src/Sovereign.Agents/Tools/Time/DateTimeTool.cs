using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sovereign.Agents.Tools.Time;

/// <summary>
/// The built-in date and time tool: the current time in a named IANA time zone, a date plus or minus an amount of
/// calendar units, and the time between two dates. Time comes from the injected <see cref="TimeProvider"/>. Thread-safe.
/// </summary>
public sealed class DateTimeTool(TimeProvider time) : IAgentTool
{
    public const string ToolName = "date_time";

    private static readonly string[] Units = ["years", "months", "weeks", "days", "hours", "minutes", "seconds"];

    public string Name => ToolName;

    public string Description =>
        "Date and time. operation 'now': the current date and time in time_zone. 'add': date plus amount of unit (negative to subtract), " +
        "in time_zone. 'difference': the time from date to other_date. time_zone is an IANA name such as Europe/Paris (default UTC); " +
        "dates are ISO 8601 (2025-03-01 or 2025-03-01T09:30:00, taken in time_zone unless they carry an offset).";

    public JsonElement ParametersSchema { get; } = ToolArguments.Schema("""
        {
          "type": "object",
          "properties": {
            "operation": { "type": "string", "enum": ["now", "add", "difference"] },
            "time_zone": { "type": "string", "description": "IANA time zone, e.g. Asia/Tehran; default UTC" },
            "date": { "type": "string", "description": "ISO 8601 date or date-time (add, difference)" },
            "amount": { "type": "integer", "description": "How many units to add (add)" },
            "unit": { "type": "string", "enum": ["years", "months", "weeks", "days", "hours", "minutes", "seconds"] },
            "other_date": { "type": "string", "description": "ISO 8601 date or date-time (difference)" }
          },
          "required": ["operation"],
          "additionalProperties": false
        }
        """);

    public Task<ToolResult> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        try
        {
            var zone = Zone(ToolArguments.OptionalString(arguments, "time_zone"));
            var result = ToolArguments.RequiredString(arguments, "operation") switch
            {
                "now" => Describe(TimeZoneInfo.ConvertTime(time.GetUtcNow(), zone), zone),
                "add" => Add(arguments, zone),
                "difference" => Difference(arguments, zone),
                var other => throw new ToolArgumentException($"Unknown operation '{other}'; use now, add or difference."),
            };
            return Task.FromResult(new ToolResult(result.ToJsonString()));
        }
        catch (ToolArgumentException e)
        {
            return Task.FromResult(ToolResult.Error(e.Message));
        }
    }

    private static JsonObject Add(JsonElement arguments, TimeZoneInfo zone)
    {
        var start = ParseDate(ToolArguments.RequiredString(arguments, "date"), "date", zone);
        var amount = ToolArguments.OptionalInteger(arguments, "amount") ?? throw new ToolArgumentException("The argument 'amount' is required for add.");
        var unit = ToolArguments.OptionalString(arguments, "unit") ?? throw new ToolArgumentException("The argument 'unit' is required for add.");
        if (Math.Abs(amount) > 1_000_000) throw new ToolArgumentException("The argument 'amount' must be between -1000000 and 1000000.");
        try
        {
            // Calendar units move the wall-clock date in the zone; fixed units move the instant.
            var local = start.DateTime;
            DateTimeOffset result = unit switch
            {
                "years" => InZone(local.AddYears(checked((int)amount)), zone),
                "months" => InZone(local.AddMonths(checked((int)amount)), zone),
                "weeks" => InZone(local.AddDays(amount * 7.0), zone),
                "days" => InZone(local.AddDays(amount), zone),
                "hours" => TimeZoneInfo.ConvertTime(start.AddHours(amount), zone),
                "minutes" => TimeZoneInfo.ConvertTime(start.AddMinutes(amount), zone),
                "seconds" => TimeZoneInfo.ConvertTime(start.AddSeconds(amount), zone),
                _ => throw new ToolArgumentException($"Unknown unit '{unit}'; use one of {string.Join(", ", Units)}."),
            };
            return Describe(result, zone);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new ToolArgumentException("The result is outside the years 1 to 9999.");
        }
    }

    private static JsonObject Difference(JsonElement arguments, TimeZoneInfo zone)
    {
        var from = ParseDate(ToolArguments.RequiredString(arguments, "date"), "date", zone);
        var to = ParseDate(ToolArguments.OptionalString(arguments, "other_date") ?? throw new ToolArgumentException("The argument 'other_date' is required for difference."), "other_date", zone);
        var span = to - from;
        return new JsonObject
        {
            ["from"] = from.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
            ["to"] = to.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
            ["days"] = Math.Round(span.TotalDays, 6),
            ["hours"] = Math.Round(span.TotalHours, 4),
            ["seconds"] = (long)span.TotalSeconds,
        };
    }

    private static JsonObject Describe(DateTimeOffset value, TimeZoneInfo zone) => new()
    {
        ["date_time"] = value.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
        ["date"] = value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["time"] = value.ToString("HH:mm:ss", CultureInfo.InvariantCulture),
        ["day_of_week"] = value.DayOfWeek.ToString(),
        ["time_zone"] = zone.Id,
        ["utc_offset"] = value.ToString("zzz", CultureInfo.InvariantCulture),
    };

    private static TimeZoneInfo Zone(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return TimeZoneInfo.Utc;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(name.Trim());
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ToolArgumentException($"Unknown time zone '{name}'; use an IANA name such as Europe/Paris or America/New_York.");
        }
    }

    private static DateTimeOffset ParseDate(string text, string name, TimeZoneInfo zone)
    {
        text = text.Trim();
        string[] withOffset = ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK"];
        if (text.Length > 10 && (text.EndsWith('Z') || text[^6] is '+' or '-')
            && DateTimeOffset.TryParseExact(text, withOffset, CultureInfo.InvariantCulture, DateTimeStyles.None, out var exact))
            return TimeZoneInfo.ConvertTime(exact, zone);
        string[] local = ["yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss"];
        if (DateTime.TryParseExact(text, local, CultureInfo.InvariantCulture, DateTimeStyles.None, out var wall)) return InZone(wall, zone);
        throw new ToolArgumentException($"The argument '{name}' is not an ISO 8601 date: '{text}' (expected e.g. 2025-03-01 or 2025-03-01T09:30:00+03:30).");
    }

    /// <summary>A wall-clock time in <paramref name="zone"/>; a time skipped by a clock change moves forward past the gap.</summary>
    private static DateTimeOffset InZone(DateTime wall, TimeZoneInfo zone)
    {
        wall = DateTime.SpecifyKind(wall, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(wall)) wall = wall.AddHours(1);
        return new DateTimeOffset(wall, zone.GetUtcOffset(wall));
    }
}
