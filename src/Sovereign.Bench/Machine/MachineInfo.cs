using System.Globalization;
using System.Runtime.InteropServices;

namespace Sovereign.Bench.Machine;

/// <summary>What the run ran on: enough to tell two result files from different machines apart. Immutable.</summary>
public sealed record MachineInfo
{
    public required int Cores { get; init; }
    public long? MemoryBytes { get; init; }
    public string? CpuModel { get; init; }
    /// <summary>The flags of the first CPU in /proc/cpuinfo (avx2, avx512f, …), sorted.</summary>
    public IReadOnlyList<string> CpuFlags { get; init; } = [];
    public required string Os { get; init; }
    public required string Runtime { get; init; }
    public required string Architecture { get; init; }
    public required string HostName { get; init; }
    /// <summary>1-minute load average when the run started (/proc/loadavg): above the core count, other work shared the CPUs.</summary>
    public double? LoadAverageAtStart { get; init; }
    /// <summary>The same when the run ended.</summary>
    public double? LoadAverageAtEnd { get; set; }
    /// <summary>True when the CPU says it runs under a hypervisor (the "hypervisor" flag); null where flags are unknown.</summary>
    public bool? VirtualMachine => CpuFlags.Count == 0 ? null : CpuFlags.Contains("hypervisor");
    /// <summary>Kernel memory monitors running during the run (DAMON); each one's sampling shows as periodic stalls.</summary>
    public IReadOnlyList<KernelMemoryMonitor> MemoryMonitors { get; init; } = [];

    /// <summary>Reads this machine (Linux /proc where present; other systems get what .NET knows).</summary>
    public static MachineInfo Collect()
    {
        var cpu = TryRead("/proc/cpuinfo") is { } cpuinfo ? ParseCpuInfo(cpuinfo) : (null, []);
        return new MachineInfo
        {
            Cores = Environment.ProcessorCount,
            MemoryBytes = TryRead("/proc/meminfo") is { } meminfo ? ParseMemTotal(meminfo) : null,
            CpuModel = cpu.Model,
            CpuFlags = cpu.Flags,
            Os = RuntimeInformation.OSDescription,
            Runtime = RuntimeInformation.FrameworkDescription,
            Architecture = RuntimeInformation.ProcessArchitecture.ToString(),
            HostName = Environment.MachineName,
            LoadAverageAtStart = LoadAverage(),
            MemoryMonitors = KernelMemoryMonitor.ReadRunning(),
        };
    }

    /// <summary>The 1-minute load average, or null where /proc/loadavg is missing.</summary>
    public static double? LoadAverage() => TryRead("/proc/loadavg") is { } text ? ParseLoadAverage(text) : null;

    internal static double? ParseLoadAverage(string text)
    {
        var first = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    /// <summary>The first "model name" and "flags" lines of /proc/cpuinfo.</summary>
    internal static (string? Model, IReadOnlyList<string> Flags) ParseCpuInfo(string text)
    {
        string? model = null;
        IReadOnlyList<string>? flags = null;
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (model is null && key == "model name") model = value;
            // x86 says "flags", ARM says "Features".
            if (flags is null && key is "flags" or "Features")
                flags = [.. value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            if (model is not null && flags is not null) break;
        }
        return (model, flags ?? []);
    }

    /// <summary>MemTotal of /proc/meminfo, in bytes.</summary>
    internal static long? ParseMemTotal(string text) => ProcessMemory.ParseKilobytes(text, "MemTotal");

    /// <summary>The file's text; null when it is missing or unreadable (a /proc file of a process that has gone).</summary>
    internal static string? TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>Resident memory of a process on Linux, from /proc/&lt;pid&gt;/status. Stateless; thread-safe.</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set size (VmHWM) in bytes; null when the process is gone or this is not Linux.</summary>
    public static long? PeakRss(int processId) => Read(processId, "VmHWM");

    /// <summary>Current resident set size (VmRSS) in bytes; null when the process is gone or this is not Linux.</summary>
    public static long? CurrentRss(int processId) => Read(processId, "VmRSS");

    private static long? Read(int processId, string field)
    {
        try
        {
            var path = string.Create(CultureInfo.InvariantCulture, $"/proc/{processId}/status");
            return File.Exists(path) ? ParseKilobytes(File.ReadAllText(path), field) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The value of a "<paramref name="field"/>:   1234 kB" line, in bytes.</summary>
    internal static long? ParseKilobytes(string text, string field)
    {
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
            var parts = line[(field.Length + 1)..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 1 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                return parts.Length >= 2 && parts[1] == "kB" ? value * 1024 : value;
        }
        return null;
    }
}
