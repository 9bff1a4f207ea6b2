namespace Sovereign.Inference.Engine;

/// <summary>
/// Sizes each step's prefill so that, while streams are generating, a step that prefills lasts about the target time:
/// a long prompt then pauses their output for about that long per token, not for a whole <c>PrefillChunk</c> of
/// prefill. It is a trade: on a CPU a smaller chunk prefills less efficiently, so the long prompt and newcomers wait
/// longer for their first token (see <see cref="EngineSettings.PrefillStallTarget"/> for measured figures); on a GPU,
/// where a chunk costs little, the budget stays at the full chunk.
/// <para>
/// The costs are learned from the engine's own steps, since the model, the threads and the hardware decide them: the
/// time of a step with only decode tokens, for each number of them, and the time per prompt token on top of that. With
/// nothing generating, or before a prompt token's cost is known, the budget is the full chunk.
/// </para>
/// Not thread-safe; used only by the engine loop (and tests).
/// </summary>
internal sealed class PrefillPacer
{
    /// <summary>The smallest budget while generating: fewer prompt tokens per step would pass over the weights for too little work.</summary>
    public const int MinimumChunk = 64;

    // Steps with fewer prompt tokens say little about the per-token cost: the step's fixed cost dominates them.
    private const int FewestToLearnFrom = 8;
    private const double Smoothing = 0.25;

    private readonly int _maximum;
    private readonly double _targetMs;
    private readonly double[] _decodeStepMs;
    private double _msPerPromptToken = double.NaN;

    /// <param name="maximumChunk">The budget's ceiling (the engine's PrefillChunk).</param>
    /// <param name="target">How long a step that prefills may take while streams generate; zero turns pacing off.</param>
    /// <param name="slots">The most decode tokens a step can hold.</param>
    public PrefillPacer(int maximumChunk, TimeSpan target, int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maximumChunk, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(target, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _maximum = maximumChunk;
        _targetMs = target.TotalMilliseconds;
        _decodeStepMs = new double[slots + 1];
        Array.Fill(_decodeStepMs, double.NaN);
    }

    /// <summary>Prompt tokens the next step may prefill when it also carries <paramref name="decodeTokens"/> decode tokens.</summary>
    public int Budget(int decodeTokens)
    {
        if (decodeTokens <= 0 || _targetMs <= 0 || double.IsNaN(_msPerPromptToken))
            return _maximum;
        var left = _targetMs - DecodeStepMs(decodeTokens);
        var tokens = left <= 0 ? 0 : left / Math.Max(_msPerPromptToken, 1e-6);
        return (int)Math.Clamp(Math.Floor(Math.Min(tokens, _maximum)), Math.Min(MinimumChunk, _maximum), _maximum);
    }

    /// <summary>A step ran: <paramref name="promptTokens"/> and <paramref name="decodeTokens"/> in <paramref name="elapsed"/>.</summary>
    public void Observe(int promptTokens, int decodeTokens, TimeSpan elapsed)
    {
        var ms = elapsed.TotalMilliseconds;
        if (ms < 0 || decodeTokens < 0 || promptTokens < 0)
            return;
        if (promptTokens == 0)
        {
            if (decodeTokens > 0 && decodeTokens < _decodeStepMs.Length)
                _decodeStepMs[decodeTokens] = Smooth(_decodeStepMs[decodeTokens], ms);
            return;
        }
        if (promptTokens < FewestToLearnFrom)
            return;
        var perToken = Math.Max(ms - DecodeStepMs(decodeTokens), 0) / promptTokens;
        _msPerPromptToken = Smooth(_msPerPromptToken, perToken);
    }

    /// <summary>
    /// The learned time of a step with <paramref name="decodeTokens"/> decode tokens alone; unknown counts are scaled
    /// from the nearest known smaller one (or taken as free when none is known: the budget then errs large, once).
    /// </summary>
    private double DecodeStepMs(int decodeTokens)
    {
        if (decodeTokens <= 0)
            return 0;
        var n = Math.Min(decodeTokens, _decodeStepMs.Length - 1);
        for (var k = n; k >= 1; k--)
        {
            if (!double.IsNaN(_decodeStepMs[k]))
                return _decodeStepMs[k] * decodeTokens / k;
        }
        return 0;
    }

    private static double Smooth(double current, double sample) =>
        double.IsNaN(current) ? sample : current + Smoothing * (sample - current);
}
