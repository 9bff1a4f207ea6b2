namespace Sovereign.Bench;

/// <summary>
/// Where a run says how far it is. Called from the run's own flow, one call at a time (never concurrently), so an
/// implementation need not be thread-safe; it must be quick, since calls happen between measurements.
/// </summary>
public interface IBenchProgress
{
    /// <summary>The run has <paramref name="steps"/> steps in all.</summary>
    void Begin(int steps);

    /// <summary>The next step starts: <paramref name="what"/> for <paramref name="model"/> (null for the run as a whole).</summary>
    void Step(string? model, string what);

    /// <summary>Something the operator should know (a workload failed or was skipped; a figure is missing).</summary>
    void Note(string message);
}

/// <summary>Reports nothing. Stateless; thread-safe.</summary>
public sealed class NullBenchProgress : IBenchProgress
{
    public static NullBenchProgress Instance { get; } = new();

    public void Begin(int steps)
    {
    }

    public void Step(string? model, string what)
    {
    }

    public void Note(string message)
    {
    }
}
