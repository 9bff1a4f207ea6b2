using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sovereign.Core.Errors;

namespace Sovereign.Server.Tenancy;

/// <summary>
/// <c>GET /v1/usage</c> (admin scope): the caller's tenant's generation records. Filters: <c>from</c>, <c>to</c> (unix
/// seconds or ISO 8601; from inclusive, to exclusive), <c>model</c>, <c>app_id</c>, <c>key_id</c>; <c>group_by</c> one
/// of day, model, app, key sums them; <c>format=csv</c> answers CSV instead of JSON; <c>limit</c> (records only,
/// default 1000, at most 100000).
/// </summary>
internal static class UsageApi
{
    public const int MaxLimit = 100_000;

    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/usage", QueryAsync).WithName("GetUsage");
        return app;
    }

    private static async Task<IResult> QueryAsync(HttpContext context, IUsageStore usage)
    {
        var q = context.Request.Query;
        var problems = new OpenAi.RequestProblems();
        var from = Time(q["from"], "from", problems);
        var to = Time(q["to"], "to", problems);
        var group = UsageGrouping.None;
        if (q["group_by"].ToString() is { Length: > 0 } g)
        {
            group = g switch { "day" => UsageGrouping.Day, "model" => UsageGrouping.Model, "app" => UsageGrouping.App, "key" => UsageGrouping.Key, _ => UsageGrouping.None };
            if (group == UsageGrouping.None) problems.Add("group_by", $"Invalid value for 'group_by': '{g}'. Supported values are: 'day', 'model', 'app' and 'key'.", "invalid_value");
        }
        var format = q["format"].ToString();
        if (format is not ("" or "json" or "csv")) problems.Add("format", $"Invalid value for 'format': '{format}'. Supported values are: 'json' and 'csv'.", "invalid_value");
        var limit = 1000;
        if (q["limit"].ToString() is { Length: > 0 } l && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
            problems.Add("limit", $"limit must be between 1 and {MaxLimit}, got '{l}'.", "invalid_value");
        problems.ThrowIfAny();

        var query = new UsageQuery(from, to, Text(q["model"]) is { } model ? UsageModelName.Of(model) : null, Text(q["app_id"]), Text(q["key_id"]), group, limit);
        var csv = format == "csv";
        context.Response.Headers.CacheControl = "no-store";
        if (group == UsageGrouping.None)
        {
            var records = await usage.ListAsync(query, context.RequestAborted);
            return csv
                ? TypedResults.Text(UsageCsv.Records(records), "text/csv; charset=utf-8")
                : TypedResults.Json(new UsageRecordList("list", [.. records.Select(UsageRecordObject.From)]), TenancyJsonContext.Default.UsageRecordList);
        }
        var groups = await usage.GroupAsync(query, context.RequestAborted);
        var name = group.ToString().ToLowerInvariant();
        return csv
            ? TypedResults.Text(UsageCsv.Groups(name, groups), "text/csv; charset=utf-8")
            : TypedResults.Json(new UsageGroupList("list", name, [.. groups.Select(UsageGroupObject.From)]), TenancyJsonContext.Default.UsageGroupList);
    }

    private static string? Text(Microsoft.Extensions.Primitives.StringValues v) => v.ToString() is { Length: > 0 } s ? s : null;

    private static DateTimeOffset? Time(Microsoft.Extensions.Primitives.StringValues v, string name, OpenAi.RequestProblems problems)
    {
        var s = v.ToString();
        if (s.Length == 0) return null;
        if (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds < 253_402_300_800) return DateTimeOffset.FromUnixTimeSeconds(seconds);
        if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)) return t;
        problems.Add(name, $"{name} must be unix seconds or an ISO 8601 date, got '{s}'.", "invalid_value");
        return null;
    }
}

internal sealed record UsageRecordObject(string RequestId, long CreatedAt, string? KeyId, string? UserId, string Model, string? AppId, string Api,
    int PromptTokens, int CompletionTokens, int TotalTokens, double? TtftMs, double DurationMs, string Outcome)
{
    public static UsageRecordObject From(UsageRecord r) => new(r.RequestId, r.At.ToUnixTimeSeconds(), r.KeyId, r.UserId, r.Model, r.AppId, r.Api,
        r.PromptTokens, r.CompletionTokens, r.TotalTokens, r.TtftMs, r.DurationMs, r.Outcome);
}

internal sealed record UsageRecordList(string Object, IReadOnlyList<UsageRecordObject> Data);

internal sealed record UsageGroupObject(string Group, long Requests, long PromptTokens, long CompletionTokens, long TotalTokens, double? AvgTtftMs, double AvgDurationMs)
{
    public static UsageGroupObject From(UsageGroup g) => new(g.Group, g.Requests, g.PromptTokens, g.CompletionTokens, g.TotalTokens, g.AvgTtftMs, g.AvgDurationMs);
}

internal sealed record UsageGroupList(string Object, string GroupBy, IReadOnlyList<UsageGroupObject> Data);
