using System.Globalization;

namespace Sovereign.Bench.Machine;

/// <summary>
/// How busy the whole machine's CPUs are, from /proc/stat, and a wait for a quiet moment. The benchmark waits for one
/// before each measured run: on a shared machine a run that starts while other work (a build, another test suite, the
/// server's own just-in-time compilation after its first requests) is busy measures that work, not the code under
/// test. Stateless; thread-safe.
/// </summary>
public static class CpuActivity
{
    /// <summary>Busy and total time of all CPUs so far, in clock ticks; null where /proc/stat is missing.</summary>
    public static (long Busy, long Total)? Read()
    {
        try
        {
            return File.Exists("/proc/stat") ? ParseProcStat(File.ReadAllText("/proc/stat")) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits until the machine has been quiet for one <paramref name="window"/> (on average at most
    /// <paramref name="maxBusyCores"/> cores busy), or <paramref name="timeout"/> has passed. True when it was quiet;
    /// false after the timeout, or at once where the busy time cannot be read (after one window, so runs are still spaced).
    /// </summary>
    public static async Task<bool> WaitForQuietAsync(double maxBusyCores, TimeSpan window, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var before = Read();
            await Task.Delay(window, cancellationToken).ConfigureAwait(false);
            var after = Read();
            if (before is not { } b || after is not { } a) return false;
            if (BusyCores(b, a, Environment.ProcessorCount) <= maxBusyCores) return true;
            if (started.Elapsed >= timeout) return false;
        }
    }

    /// <summary>Cores busy on average between two readings.</summary>
    internal static double BusyCores((long Busy, long Total) before, (long Busy, long Total) after, int cores)
    {
        var total = after.Total - before.Total;
        return total <= 0 ? 0 : (double)(after.Busy - before.Busy) / total * cores;
    }

    /// <summary>The first ("cpu") line: user nice system idle iowait irq softirq steal …; idle and iowait are not busy.</summary>
    internal static (long Busy, long Total)? ParseProcStat(string text)
    {
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        if (line is null) return null;
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
            .Select(f => long.TryParse(f, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0).ToArray();
        if (fields.Length < 4) return null;
        var idle = fields[3] + (fields.Length > 4 ? fields[4] : 0);
        var total = fields.Sum();
        return (total - idle, total);
    }
}
