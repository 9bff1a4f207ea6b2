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
    public void Running_damon_contexts_are_read_with_their_sampling_interval_and_schemes()
    {
        var root = Directory.CreateTempSubdirectory("damon-").FullName;
        try
        {
            void Write(string path, string text)
            {
                var file = Path.Combine(root, path);
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                File.WriteAllText(file, text + "\n");
            }
            // The layout of /sys/kernel/mm/damon/admin: one kdamond on (as a cloud guest image starts it), one off.
            Write("kdamonds/nr_kdamonds", "2");
            Write("kdamonds/0/state", "on");
            Write("kdamonds/0/contexts/nr_contexts", "1");
            Write("kdamonds/0/contexts/0/operations", "paddr");
            Write("kdamonds/0/contexts/0/monitoring_attrs/intervals/sample_us", "500000");
            Write("kdamonds/0/contexts/0/schemes/nr_schemes", "1");
            Write("kdamonds/0/contexts/0/schemes/0/action", "pageout");
            Write("kdamonds/1/state", "off");
            Write("kdamonds/1/contexts/0/operations", "vaddr");
            Write("kdamonds/1/contexts/0/monitoring_attrs/intervals/sample_us", "5000");

            var monitor = Assert.Single(KernelMemoryMonitor.ReadRunning(root));
            Assert.Equal("paddr", monitor.Operations);
            Assert.Equal(500, monitor.SampleIntervalMs);
            Assert.Equal(["pageout"], monitor.Actions);
            Assert.Equal("paddr, sampling every 500 ms, schemes: pageout", monitor.ToString());
            Assert.Equal("paddr, sampling every 500 ms, schemes: pageout; " + KernelMemoryMonitor.Consequence, KernelMemoryMonitor.Describe([monitor]));
            Assert.Empty(KernelMemoryMonitor.ReadRunning(Path.Combine(root, "missing")));
            Assert.Null(KernelMemoryMonitor.Describe([]));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void The_hypervisor_flag_marks_a_virtual_machine()
    {
        Assert.True(new MachineInfo { Cores = 2, Os = "", Runtime = "", Architecture = "", HostName = "", CpuFlags = ["avx2", "hypervisor"] }.VirtualMachine);
        Assert.False(new MachineInfo { Cores = 2, Os = "", Runtime = "", Architecture = "", HostName = "", CpuFlags = ["avx2"] }.VirtualMachine);
        Assert.Null(new MachineInfo { Cores = 2, Os = "", Runtime = "", Architecture = "", HostName = "" }.VirtualMachine);
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

public sealed class ProcessCpuTests
{
    [Fact]
    public void A_stat_line_gives_the_name_between_the_outer_parentheses_and_user_plus_system_ticks()
    {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
        const string line = "4242 (.NET TP (Worker) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 9 0 5 6 7\n";
        Assert.Equal((".NET TP (Worker) 1", 1290L), ProcessCpu.ParseStat(line));
        Assert.Null(ProcessCpu.ParseStat("4242 (sov) S 1 2"));
        Assert.Null(ProcessCpu.ParseStat(null));
    }

    [Fact]
    public void A_busy_thread_is_counted_under_its_name_and_in_its_process()
    {
        var name = "cpu-test-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)[^4..];
        var processBefore = ProcessCpu.Ticks(Environment.ProcessId);
        Assert.NotNull(processBefore);
        var busy = new Thread(() =>
        {
            var until = System.Diagnostics.Stopwatch.StartNew();
            while (until.ElapsedMilliseconds < 400) Thread.SpinWait(1000);
        })
        { Name = name };
        busy.Start();
        // Read while the thread lives: a thread's own figure goes with it.
        Thread.Sleep(300);
        var whileBusy = ProcessCpu.ThreadTicks(Environment.ProcessId, name);
        busy.Join();
        Assert.True(whileBusy > 0, $"the spinning thread's ticks: {whileBusy}");
        Assert.Equal(0, ProcessCpu.ThreadTicks(Environment.ProcessId, "no-such-thread-name"));
        Assert.True(ProcessCpu.Ticks(Environment.ProcessId) > processBefore, "the process's ticks include the ended thread's");
        Assert.Null(ProcessCpu.Ticks(int.MaxValue));
    }
}
