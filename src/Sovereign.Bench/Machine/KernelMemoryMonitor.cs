using System.Globalization;

namespace Sovereign.Bench.Machine;

/// <summary>
/// A running DAMON context (the kernel's Data Access MONitor, set up through /sys/kernel/mm/damon/admin), as a
/// cloud's guest image may start it to hand cold memory back to the host. Every <see cref="SampleIntervalMs"/> it clears
/// the accessed bit of a page in each monitored region, in every process that maps it; under a hypervisor that shadows
/// page tables, the next touch of each such page traps to the host. A decode that reads all of a model's weights per
/// token can then stall about once per interval (seen on this project's 2-core VMs: 60–230 ms every ~0.5 s), so a run
/// records it. Immutable.
/// </summary>
public sealed record KernelMemoryMonitor(string Operations, double SampleIntervalMs, IReadOnlyList<string> Actions)
{
    public const string SysfsRoot = "/sys/kernel/mm/damon/admin";

    /// <summary>What a running monitor means for the figures, as the bench and <c>sov doctor</c> say it.</summary>
    public const string Consequence = "on a virtual machine decoding can stall about once per sampling interval";

    /// <summary>"paddr, sampling every 500 ms, schemes: pageout; …" for each monitor, or null when none runs.</summary>
    public static string? Describe(IReadOnlyList<KernelMemoryMonitor> monitors) =>
        monitors.Count == 0 ? null : string.Join("; ", monitors) + "; " + Consequence;

    /// <summary>The contexts of every kdamond whose state is "on"; empty where DAMON is missing, off or unreadable.</summary>
    public static IReadOnlyList<KernelMemoryMonitor> ReadRunning(string root = SysfsRoot)
    {
        var kdamonds = Path.Combine(root, "kdamonds");
        var running = new List<KernelMemoryMonitor>();
        foreach (var kdamond in Numbered(kdamonds))
        {
            if (Read(Path.Combine(kdamond, "state")) != "on") continue;
            foreach (var context in Numbered(Path.Combine(kdamond, "contexts")))
            {
                var sampleUs = Read(Path.Combine(context, "monitoring_attrs", "intervals", "sample_us"));
                if (!double.TryParse(sampleUs, NumberStyles.Float, CultureInfo.InvariantCulture, out var us)) continue;
                var actions = Numbered(Path.Combine(context, "schemes"))
                    .Select(scheme => Read(Path.Combine(scheme, "action")))
                    .OfType<string>()
                    .ToList();
                running.Add(new KernelMemoryMonitor(Read(Path.Combine(context, "operations")) ?? "?", us / 1000, actions));
            }
        }
        return running;
    }

    /// <summary>"paddr, sampling every 500 ms, schemes: pageout".</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Operations}, sampling every {SampleIntervalMs:0.#} ms")
        + (Actions.Count > 0 ? ", schemes: " + string.Join(", ", Actions) : "");

    // sysfs lists a kdamond's contexts (and a context's schemes) as folders 0, 1, … beside an nr_* file.
    private static IEnumerable<string> Numbered(string folder)
    {
        try
        {
            return Directory.Exists(folder)
                ? Directory.GetDirectories(folder).Where(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out _)).Order(StringComparer.Ordinal).ToList()
                : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static string? Read(string path) => MachineInfo.TryRead(path)?.Trim();
}
