using System.Text.Json.Serialization;
using Sovereign.Core.Errors;
using Sovereign.Server.Tenancy;

namespace Sovereign.Server.Admin;

/// <summary>Quota limits on the wire; null means no limit, and is always written.</summary>
internal sealed record LimitsObject(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? RequestsPerMinute,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? TokensPerDay,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? TokensPerMonth,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? ConcurrentGenerations)
{
    public static LimitsObject From(QuotaLimits l) => new(l.RequestsPerMinute, l.TokensPerDay, l.TokensPerMonth, l.ConcurrentGenerations);

    /// <summary>Every negative or zero value, each named; then the limits.</summary>
    public QuotaLimits ToLimits()
    {
        var problems = new OpenAi.RequestProblems();
        void Check(string name, long? v)
        {
            if (v is <= 0) problems.Add(name, $"{name} must be at least 1 (or null for no limit), got {v}.", "invalid_value");
        }
        Check("requests_per_minute", RequestsPerMinute);
        Check("tokens_per_day", TokensPerDay);
        Check("tokens_per_month", TokensPerMonth);
        Check("concurrent_generations", ConcurrentGenerations);
        problems.ThrowIfAny();
        return new QuotaLimits(RequestsPerMinute, TokensPerDay, TokensPerMonth, ConcurrentGenerations);
    }
}
