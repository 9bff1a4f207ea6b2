using System.Text.Json;
using System.Text.Json.Nodes;
using Sovereign.Agents.Tools.Time;

namespace Sovereign.Agents.Tests.Tools;

public class DateTimeToolTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static readonly DateTimeTool Tool = new(new FixedTime(new DateTimeOffset(2025, 3, 30, 0, 30, 0, TimeSpan.Zero)));

    private static async Task<JsonNode> CallAsync(string arguments)
    {
        using var document = JsonDocument.Parse(arguments);
        var result = await Tool.InvokeAsync(document.RootElement, default);
        Assert.False(result.IsError, result.Content);
        return JsonNode.Parse(result.Content)!;
    }

    [Fact]
    public async Task Now_is_given_in_the_named_IANA_time_zone()
    {
        var tehran = await CallAsync("""{"operation": "now", "time_zone": "Asia/Tehran"}""");
        Assert.Equal("2025-03-30T04:00:00+03:30", tehran["date_time"]!.GetValue<string>());
        Assert.Equal("Sunday", tehran["day_of_week"]!.GetValue<string>());
        var utc = await CallAsync("""{"operation": "now"}""");
        Assert.Equal("2025-03-30T00:30:00+00:00", utc["date_time"]!.GetValue<string>());
    }

    [Fact]
    public async Task Adds_calendar_units_on_the_wall_clock_and_fixed_units_on_the_instant()
    {
        var monthEnd = await CallAsync("""{"operation": "add", "date": "2025-01-31", "amount": 1, "unit": "months"}""");
        Assert.Equal("2025-02-28", monthEnd["date"]!.GetValue<string>());
        // Paris moves its clocks forward on 2025-03-30: one day later is still 09:00 local, 24 hours later is 10:00.
        var day = await CallAsync("""{"operation": "add", "date": "2025-03-29T09:00:00", "amount": 1, "unit": "days", "time_zone": "Europe/Paris"}""");
        Assert.Equal("2025-03-30T09:00:00+02:00", day["date_time"]!.GetValue<string>());
        var hours = await CallAsync("""{"operation": "add", "date": "2025-03-29T09:00:00", "amount": 24, "unit": "hours", "time_zone": "Europe/Paris"}""");
        Assert.Equal("2025-03-30T10:00:00+02:00", hours["date_time"]!.GetValue<string>());
        var back = await CallAsync("""{"operation": "add", "date": "2025-03-01", "amount": -2, "unit": "weeks"}""");
        Assert.Equal("2025-02-15", back["date"]!.GetValue<string>());
    }

    [Fact]
    public async Task Measures_the_time_between_two_dates()
    {
        var span = await CallAsync("""{"operation": "difference", "date": "2025-01-01", "other_date": "2025-03-01T12:00:00"}""");
        Assert.Equal(59.5, span["days"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("""{"operation": "now", "time_zone": "Mars/Olympus"}""", "Unknown time zone 'Mars/Olympus'")]
    [InlineData("""{"operation": "add", "date": "yesterday", "amount": 1, "unit": "days"}""", "not an ISO 8601 date")]
    [InlineData("""{"operation": "add", "date": "2025-01-01", "amount": 1, "unit": "fortnights"}""", "Unknown unit")]
    [InlineData("""{"operation": "add", "date": "2025-01-01", "unit": "days"}""", "'amount' is required")]
    [InlineData("""{"operation": "teleport"}""", "Unknown operation")]
    [InlineData("""{"operation": "add", "date": "9999-12-31", "amount": 1, "unit": "years"}""", "outside the years")]
    public async Task Bad_arguments_come_back_as_an_error_naming_the_problem(string arguments, string expected)
    {
        using var document = JsonDocument.Parse(arguments);
        var result = await Tool.InvokeAsync(document.RootElement, default);
        Assert.True(result.IsError);
        Assert.Contains(expected, result.Content, StringComparison.Ordinal);
    }
}
