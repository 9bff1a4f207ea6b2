namespace Sovereign.Bench.Stats;

/// <summary>
/// The few statistics the benchmark reports. Pure functions over the values given; no value is ever dropped or
/// smoothed. Stateless; thread-safe.
/// </summary>
public static class Statistics
{
    /// <summary>
    /// The <paramref name="percent"/>-th percentile by linear interpolation between closest ranks (numpy's default,
    /// Hyndman–Fan type 7): rank <c>(n - 1) · p / 100</c> over the sorted values. Null when there are no values.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="percent"/> is outside [0, 100] or not a number.</exception>
    public static double? Percentile(IReadOnlyCollection<double> values, double percent)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (double.IsNaN(percent) || percent < 0 || percent > 100)
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "A percentile is between 0 and 100.");
        if (values.Count == 0) return null;
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return PercentileOfSorted(sorted, percent);
    }

    /// <summary>The median (the 50th percentile); null when there are no values.</summary>
    public static double? Median(IReadOnlyCollection<double> values) => Percentile(values, 50);

    /// <summary>
    /// <paramref name="numerator"/> ÷ <paramref name="denominator"/>, or null when either is missing, not finite, or the
    /// denominator is not positive: a ratio to nothing is reported as absent rather than as 0 or infinity.
    /// </summary>
    public static double? Ratio(double? numerator, double? denominator)
    {
        if (numerator is not { } n || denominator is not { } d) return null;
        if (!double.IsFinite(n) || !double.IsFinite(d) || d <= 0) return null;
        return n / d;
    }

    /// <summary>Events per second: <paramref name="count"/> over <paramref name="seconds"/>; null when the time is not positive.</summary>
    public static double? Rate(double count, double seconds) => Ratio(count, seconds);

    internal static double PercentileOfSorted(double[] sorted, double percent)
    {
        if (sorted.Length == 1) return sorted[0];
        var rank = (sorted.Length - 1) * percent / 100.0;
        var lower = (int)Math.Floor(rank);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        var fraction = rank - lower;
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction;
    }
}

/// <summary>
/// Count, mean, extremes and the percentiles a latency table needs, of one set of samples. Values are in the unit of
/// the samples (milliseconds for latencies, tokens/s for rates). Immutable.
/// </summary>
public sealed record Summary(int Count, double Mean, double Min, double P50, double P90, double P95, double P99, double Max)
{
    /// <summary>The summary of <paramref name="values"/>, or null when there are none.</summary>
    public static Summary? Of(IReadOnlyCollection<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) return null;
        var sorted = values.ToArray();
        Array.Sort(sorted);
        double P(double p) => Statistics.PercentileOfSorted(sorted, p);
        return new Summary(sorted.Length, sorted.Average(), sorted[0], P(50), P(90), P(95), P(99), sorted[^1]);
    }
}
