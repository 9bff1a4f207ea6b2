using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Tests.Stats;

public sealed class StatisticsTests
{
    [Theory]
    // numpy.percentile([1, 2, 3, 4], p) (linear interpolation, the default).
    [InlineData(0, 1.0)]
    [InlineData(25, 1.75)]
    [InlineData(50, 2.5)]
    [InlineData(95, 3.85)]
    [InlineData(100, 4.0)]
    public void Percentile_interpolates_between_closest_ranks_like_numpy(double percent, double expected)
    {
        Assert.Equal(expected, Statistics.Percentile([4.0, 1.0, 3.0, 2.0], percent)!.Value, 12);
    }

    [Fact]
    public void Percentile_of_one_value_is_that_value_and_of_none_is_null()
    {
        Assert.Equal(7.0, Statistics.Percentile([7.0], 95));
        Assert.Null(Statistics.Percentile([], 50));
        Assert.Null(Statistics.Median([]));
    }

    [Fact]
    public void Percentile_of_ten_values_matches_hand_computation()
    {
        double[] values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        // rank = 9 * 0.95 = 8.55 → 90 + 0.55 * 10
        Assert.Equal(95.5, Statistics.Percentile(values, 95)!.Value, 12);
        Assert.Equal(55.0, Statistics.Median(values)!.Value, 12);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(100.5)]
    [InlineData(double.NaN)]
    public void Percentile_outside_0_to_100_is_refused(double percent)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.Percentile([1.0], percent));
    }

    [Fact]
    public void Ratio_is_null_rather_than_zero_or_infinite_when_a_side_is_missing()
    {
        Assert.Equal(0.5, Statistics.Ratio(1, 2));
        Assert.Null(Statistics.Ratio(null, 2));
        Assert.Null(Statistics.Ratio(1, null));
        Assert.Null(Statistics.Ratio(1, 0));
        Assert.Null(Statistics.Ratio(1, -3));
        Assert.Null(Statistics.Ratio(double.NaN, 1));
        Assert.Null(Statistics.Ratio(1, double.PositiveInfinity));
        Assert.Equal(0.0, Statistics.Ratio(0, 4));
    }

    [Fact]
    public void Rate_is_count_over_seconds()
    {
        Assert.Equal(250.0, Statistics.Rate(500, 2));
        Assert.Null(Statistics.Rate(5, 0));
    }

    [Fact]
    public void Summary_holds_count_mean_extremes_and_percentiles()
    {
        var s = Summary.Of([5.0, 1.0, 3.0, 2.0, 4.0])!;
        Assert.Equal(5, s.Count);
        Assert.Equal(3.0, s.Mean, 12);
        Assert.Equal(1.0, s.Min);
        Assert.Equal(5.0, s.Max);
        Assert.Equal(3.0, s.P50, 12);
        Assert.Equal(4.6, s.P90, 12);
        Assert.Equal(4.8, s.P95, 12);
        Assert.Equal(4.96, s.P99, 12);
        Assert.Null(Summary.Of([]));
    }
}
