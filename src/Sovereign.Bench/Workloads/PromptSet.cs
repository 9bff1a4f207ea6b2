namespace Sovereign.Bench.Workloads;

/// <summary>
/// The prompts of one model's workloads, sized in that model's tokens: one for the single stream, one per sweep stream
/// and per background stream (each its own text, about as long as the single one), and the long prompt of the
/// interference workload. <see cref="Calibrate"/> must run once, with a token counter, before any prompt is read.
/// Not thread-safe while calibrating; read-only after.
/// </summary>
internal sealed class PromptSet(int promptTokens, int longPromptTokens, int backgroundStreams)
{
    /// <summary>Tokens the long prompt's request may add, and a margin for BOS and rounding.</summary>
    private const int LongPromptReserve = 16;

    private int _words;

    public bool IsCalibrated { get; private set; }

    public string Single { get; private set; } = "";

    public string Long { get; private set; } = "";

    /// <summary>The long prompt's length in tokens (by the counter that calibrated it).</summary>
    public int LongTokens { get; private set; }

    public IReadOnlyList<string> Background { get; private set; } = [];

    /// <summary>Tokens each background stream may generate: as many as its context allows, at most 4096 (they are stopped early).</summary>
    public int BackgroundMaxTokens { get; private set; }

    /// <summary>The prompt of sweep stream <paramref name="index"/>.</summary>
    public string Sweep(int index) => WorkloadGenerator.Text(WorkloadGenerator.SeedFor("sweep", index), _words);

    /// <summary>The prompt of arrival <paramref name="index"/> under load: the sweep's length, a text of its own.</summary>
    public string Arrival(int index) => WorkloadGenerator.Text(WorkloadGenerator.SeedFor("arrival", index), _words);

    /// <summary>Sizes every prompt with <paramref name="countTokens"/> for a model whose sequences hold <paramref name="contextSize"/> tokens.</summary>
    public void Calibrate(Func<string, int> countTokens, int contextSize, int completionTokens)
    {
        var single = Math.Max(1, Math.Min(promptTokens, contextSize - completionTokens - 8));
        Single = WorkloadGenerator.ForTokens(WorkloadGenerator.SeedFor("single", 0), single, countTokens);
        _words = Single.Split(' ').Length;
        Background = [.. Enumerable.Range(0, backgroundStreams).Select(i => WorkloadGenerator.Text(WorkloadGenerator.SeedFor("background", i), _words))];
        // Prompts of the same word count differ a little in tokens; leave room for the longest.
        BackgroundMaxTokens = Math.Clamp(contextSize - Background.Max(countTokens) - LongPromptReserve, 16, 4096);
        var longTarget = Math.Max(16, Math.Min(longPromptTokens, contextSize - LongPromptReserve));
        Long = WorkloadGenerator.ForTokens(WorkloadGenerator.SeedFor("long", 0), longTarget, countTokens);
        LongTokens = countTokens(Long);
        IsCalibrated = true;
    }
}
