using System.Globalization;

namespace Sovereign.Bench.Machine;

/// <summary>
/// CPU time a process (or some of its threads) has used, from /proc/&lt;pid&gt;/stat and /proc/&lt;pid&gt;/task/*/stat,
/// in clock ticks of 10 ms (USER_HZ is 100 on every Linux the platform runs on). A process's figure includes threads
/// that have already ended; a thread's, only while it lives. Stateless; thread-safe.
/// </summary>
public static class ProcessCpu
{
    /// <summary>Milliseconds per clock tick.</summary>
    public const double TickMs = 10;

    /// <summary>User + system ticks of the whole process; null when it is gone or this is not Linux.</summary>
    public static long? Ticks(int processId) =>
        ParseStat(MachineInfo.TryRead(string.Create(CultureInfo.InvariantCulture, $"/proc/{processId}/stat")))?.Ticks;

    /// <summary>
    /// User + system ticks of the process's live threads whose name starts with <paramref name="namePrefix"/> (Linux
    /// keeps 15 characters of a thread's name; threads a thread starts inherit its name, so llama.cpp's OpenMP workers
    /// carry the name of the engine thread that started them). Null when the process is gone or this is not Linux.
    /// </summary>
    public static long? ThreadTicks(int processId, string namePrefix)
    {
        ArgumentNullException.ThrowIfNull(namePrefix);
        var tasks = string.Create(CultureInfo.InvariantCulture, $"/proc/{processId}/task");
        try
        {
            if (!Directory.Exists(tasks)) return null;
            long sum = 0;
            foreach (var thread in Directory.EnumerateDirectories(tasks))
            {
                if (ParseStat(MachineInfo.TryRead(Path.Combine(thread, "stat"))) is { } s && s.Name.StartsWith(namePrefix, StringComparison.Ordinal))
                    sum += s.Ticks;
            }
            return sum;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The name (between the first '(' and the last ')': a name may hold spaces and parentheses) and utime + stime
    /// (the 14th and 15th fields) of a stat line.
    /// </summary>
    internal static (string Name, long Ticks)? ParseStat(string? line)
    {
        if (line is null) return null;
        var open = line.IndexOf('(', StringComparison.Ordinal);
        var close = line.LastIndexOf(')');
        if (open < 0 || close < open) return null;
        // After the name: state (field 3), ppid, … utime (14), stime (15).
        var fields = line[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 13
            || !long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out var user)
            || !long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out var system))
            return null;
        return (line[(open + 1)..close], user + system);
    }
}
