using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

// Micro-benchmarks of the managed work Sovereign does per token and per model load:
//   dotnet run -c Release --project bench/Sovereign.Bench.Micro -- --filter '*'
//   dotnet run -c Release --project bench/Sovereign.Bench.Micro -- --filter '*StopString*' --job short
// Benchmarks run in this process (BenchmarkDotNet's --inProcess): building a separate boilerplate project of the whole
// dependency graph takes minutes on a 2-core machine. Pass --out-of-process to let BenchmarkDotNet build one anyway.
// Results go to bench/out/micro (ignored by git). The serving benchmark is `sov bench`.
var root = Sovereign.Bench.Models.BenchModels.FindRepositoryRoot(AppContext.BaseDirectory) ?? Environment.CurrentDirectory;
var config = DefaultConfig.Instance.WithArtifactsPath(Path.Combine(root, "bench", "out", "micro"));
var outOfProcess = args.Contains("--out-of-process");
string[] switches = outOfProcess ? [.. args.Where(a => a != "--out-of-process")] : [.. args, "--inProcess"];
BenchmarkSwitcher.FromAssembly(typeof(Sovereign.Bench.Micro.PerTokenTextBenchmarks).Assembly).Run(switches, config);
