using Sovereign.Bench.Machine;

namespace Sovereign.Bench.Tests.Machine;

public sealed class MachineInfoTests
{
    [Fact]
    public void Cpuinfo_gives_the_first_model_name_and_its_sorted_flags()
    {
        const string cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B14\nflags\t\t: fpu avx2 sse avx avx2\n\nprocessor\t: 1\nmodel name\t: other\nflags\t\t: x\n";
        var (model, flags) = MachineInfo.ParseCpuInfo(cpuinfo);
        Assert.Equal("AMD EPYC 9B14", model);
        Assert.Equal(["avx", "avx2", "fpu", "sse"], flags);
    }

    [Fact]
    public void Arm_features_count_as_flags()
    {
        Assert.Equal(["asimd", "fp"], MachineInfo.ParseCpuInfo("processor\t: 0\nFeatures\t: fp asimd\n").Flags);
    }

    [Fact]
    public void Kilobyte_fields_are_read_whether_padded_with_spaces_or_tabs()
    {
        Assert.Equal(24_000_000L * 1024, MachineInfo.ParseMemTotal("MemTotal:       24000000 kB\nMemFree:  1 kB\n"));
        const string status = "Name:\tsov\nVmPeak:\t  900 kB\nVmHWM:\t  113000 kB\nVmRSS:\t   90000 kB\n";
        Assert.Equal(113000L * 1024, ProcessMemory.ParseKilobytes(status, "VmHWM"));
        Assert.Equal(90000L * 1024, ProcessMemory.ParseKilobytes(status, "VmRSS"));
        Assert.Null(ProcessMemory.ParseKilobytes(status, "VmSwap"));
    }

    [Fact]
    public void Load_average_is_the_first_number_of_loadavg()
    {
        Assert.Equal(12.28, MachineInfo.ParseLoadAverage("12.28 9.46 7.01 3/512 4242\n"));
        Assert.Null(MachineInfo.ParseLoadAverage(""));
    }

    [Fact]
    public void This_process_has_a_peak_rss_and_a_gone_one_has_none()
    {
        Assert.True(ProcessMemory.PeakRss(Environment.ProcessId) > 0);
        Assert.Null(ProcessMemory.PeakRss(int.MaxValue));
        var machine = MachineInfo.Collect();
        Assert.Equal(Environment.ProcessorCount, machine.Cores);
        Assert.True(machine.MemoryBytes > 0);
    }
}

public sealed class CpuActivityTests
{
    [Fact]
    public void Proc_stat_busy_time_leaves_out_idle_and_iowait()
    {
        // user nice system idle iowait irq softirq steal
        var reading = CpuActivity.ParseProcStat("cpu  100 5 20 800 50 3 2 0 0 0\ncpu0 50 2 10 400 25 1 1 0 0 0\n");
        Assert.Equal((130L, 980L), reading);
        Assert.Null(CpuActivity.ParseProcStat("intr 1 2 3\n"));
    }

    [Fact]
    public void Busy_cores_is_the_busy_share_of_the_time_between_two_readings_times_the_cores()
    {
        Assert.Equal(1.0, CpuActivity.BusyCores((100, 1000), (150, 1100), cores: 2), 9);
        Assert.Equal(0.0, CpuActivity.BusyCores((100, 1000), (100, 1000), cores: 2));
    }
}
