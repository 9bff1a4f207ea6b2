using System.Globalization;
using ScottPlot;

namespace Sovereign.Bench.Reporting;

/// <summary>
/// The PNG plots (ScottPlot): scaling.png (batched decode throughput relative to one stream, every model), and per model
/// throughput-M.png (aggregate and per-stream tokens/s against streams), latency-M.png (distribution of inter-token
/// latency at each level) and interference-M.png (the background streams' gaps around the long prompt). Stateless;
/// thread-safe.
/// </summary>
internal static class PlotWriter
{
    private const int Width = 900;
    private const int Height = 540;

    public static IReadOnlyList<string> WriteAll(BenchReport report, string directory)
    {
        var files = new List<string>();
        var swept = report.Models.Where(m => m.Concurrency.Any(c => c.AggregateTokensPerSecond is not null)).ToArray();
        if (swept.Any(m => m.Concurrency.Any(c => c.Streams == 1 && c.AggregateDecodeTokensPerSecond is not null))) files.Add(Scaling(swept, directory));
        foreach (var model in swept)
        {
            files.Add(Throughput(model, directory));
            if (model.Concurrency.Any(c => c.ItlSamplesMs.Count > 0)) files.Add(Latency(model, directory));
        }
        foreach (var model in report.Models.Where(m => m.Interference?.Timeline.Count > 0))
            files.Add(Interference(model, model.Interference!, directory));
        return files;
    }

    private static string Scaling(IReadOnlyList<ModelReport> models, string directory)
    {
        var plot = new Plot();
        var levels = models.SelectMany(m => m.Concurrency.Select(c => c.Streams)).Distinct().Order().ToArray();
        foreach (var model in models)
        {
            var single = model.Concurrency.FirstOrDefault(c => c.Streams == 1)?.AggregateDecodeTokensPerSecond;
            if (single is null) continue;
            var points = model.Concurrency.Where(c => c.AggregateDecodeTokensPerSecond is not null).ToArray();
            var line = plot.Add.Scatter(points.Select(c => Log2(c.Streams)).ToArray(), points.Select(c => c.AggregateDecodeTokensPerSecond!.Value / single.Value).ToArray());
            line.LegendText = model.Name;
            line.MarkerSize = 7;
        }
        StreamsAxis(plot, levels);
        plot.Title("Batched decode throughput relative to one stream");
        plot.YLabel("aggregate decode tokens/s ÷ one stream's");
        plot.ShowLegend(Edge.Right);
        return Save(plot, directory, "scaling.png");
    }

    private static string Throughput(ModelReport model, string directory)
    {
        var plot = new Plot();
        var points = model.Concurrency.Where(c => c.AggregateTokensPerSecond is not null).ToArray();
        var xs = points.Select(c => Log2(c.Streams)).ToArray();
        var aggregate = plot.Add.Scatter(xs, points.Select(c => c.AggregateTokensPerSecond!.Value).ToArray());
        aggregate.LegendText = "aggregate, end to end";
        aggregate.MarkerSize = 7;
        var decoding = points.Where(c => c.AggregateDecodeTokensPerSecond is not null).ToArray();
        if (decoding.Length > 0)
        {
            var decode = plot.Add.Scatter(decoding.Select(c => Log2(c.Streams)).ToArray(), decoding.Select(c => c.AggregateDecodeTokensPerSecond!.Value).ToArray());
            decode.LegendText = "aggregate decode";
            decode.MarkerSize = 7;
        }
        var perStream = points.Where(c => c.PerStreamTokensPerSecond is not null).ToArray();
        if (perStream.Length > 0)
        {
            var p50 = plot.Add.Scatter(perStream.Select(c => Log2(c.Streams)).ToArray(), perStream.Select(c => c.PerStreamTokensPerSecond!.P50).ToArray());
            p50.LegendText = "per stream (p50)";
            p50.MarkerSize = 7;
            p50.LinePattern = LinePattern.Dashed;
        }
        if (model.Raw?.DecodeTokensPerSecond is { } raw)
        {
            var line = plot.Add.HorizontalLine(raw);
            line.LegendText = "raw single-stream decode";
            line.LinePattern = LinePattern.Dotted;
        }
        StreamsAxis(plot, [.. points.Select(c => c.Streams)]);
        plot.Axes.SetLimitsY(0, new[] { points.Max(c => c.AggregateTokensPerSecond!.Value), points.Max(c => c.AggregateDecodeTokensPerSecond ?? 0), model.Raw?.DecodeTokensPerSecond ?? 0 }.Max() * 1.15);
        plot.Title($"{model.Name}: throughput against concurrency");
        plot.YLabel("tokens/s");
        plot.ShowLegend(Edge.Right);
        return Save(plot, directory, $"throughput-{model.Name}.png");
    }

    private static string Latency(ModelReport model, string directory)
    {
        var plot = new Plot();
        foreach (var level in model.Concurrency.Where(c => c.ItlSamplesMs.Count > 0))
        {
            // Empirical distribution on a log axis (gaps run from microseconds, for tokens that arrive together, to
            // seconds): x = latency, y = share of gaps at most that long.
            var sorted = level.ItlSamplesMs.Order().ToArray();
            var ys = sorted.Select((_, i) => 100.0 * (i + 1) / sorted.Length).ToArray();
            var line = plot.Add.Scatter(sorted.Select(LogMs).ToArray(), ys);
            line.LegendText = level.Streams == 1 ? "1 stream" : $"{level.Streams} streams";
            line.MarkerSize = 0;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = x => Math.Pow(10, x).ToString("0.###", CultureInfo.InvariantCulture),
        };
        plot.Axes.SetLimitsY(0, 101);
        plot.Title($"{model.Name}: inter-token latency distribution");
        plot.XLabel("inter-token latency (ms, log scale)");
        plot.YLabel("% of gaps at most this long");
        plot.ShowLegend(Edge.Right);
        return Save(plot, directory, $"latency-{model.Name}.png");
    }

    /// <summary>log₁₀ of a latency in ms, floored at 1 µs (pieces read in one go are microseconds apart).</summary>
    private static double LogMs(double ms) => Math.Log10(Math.Max(ms, 0.001));

    private static string Interference(ModelReport model, InterferenceResult result, string directory)
    {
        var plot = new Plot();
        var gaps = plot.Add.ScatterPoints(result.Timeline.Select(p => p.At).ToArray(), result.Timeline.Select(p => p.GapMs).ToArray());
        gaps.LegendText = $"gaps of the {result.BackgroundStreams} background streams";
        gaps.MarkerSize = 4;
        var sent = plot.Add.VerticalLine(0);
        sent.LegendText = "long prompt sent";
        if (double.IsFinite(result.LongPromptFirstTokenAt))
        {
            var first = plot.Add.VerticalLine(result.LongPromptFirstTokenAt);
            first.LegendText = "its first token";
            first.LinePattern = LinePattern.Dashed;
        }
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"{model.Name}: a {result.LongPromptTokens}-token prompt among {result.BackgroundStreams} streams"));
        plot.XLabel("seconds since the long prompt was sent");
        plot.YLabel("inter-token latency (ms)");
        plot.ShowLegend(Edge.Right);
        return Save(plot, directory, $"interference-{model.Name}.png");
    }

    /// <summary>Streams on a log₂ axis, ticked at the levels measured.</summary>
    private static void StreamsAxis(Plot plot, IReadOnlyList<int> levels)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (var level in levels) ticks.AddMajor(Log2(level), level.ToString(CultureInfo.InvariantCulture));
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.XLabel("concurrent streams");
        if (levels.Count > 0) plot.Axes.SetLimitsX(Log2(levels.Min()) - 0.3, Log2(levels.Max()) + 0.3);
    }

    private static double Log2(int streams) => Math.Log2(streams);

    private static string Save(Plot plot, string directory, string name)
    {
        var path = Path.Combine(directory, name);
        plot.SavePng(path, Width, Height);
        return path;
    }
}
