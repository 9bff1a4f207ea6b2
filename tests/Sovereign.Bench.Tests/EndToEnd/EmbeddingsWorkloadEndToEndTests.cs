using Sovereign.Bench.Hosting;
using Sovereign.Bench.Workloads;

namespace Sovereign.Bench.Tests.EndToEnd;

/// <summary>The embeddings workload against a real `sov serve` (loopback, port 0) with its built-in all-minilm model.</summary>
public sealed class EmbeddingsWorkloadEndToEndTests
{
    [Fact]
    public async Task The_built_in_model_is_measured_at_batch_1_8_and_32_on_a_real_server()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var server = await SovereignServerProcess.StartAsync([], timeout.Token);
        await using (server)
        {
            var report = await EmbeddingsWorkload.RunAsync(server.Url, server.AdminKey, "all-minilm", TimeSpan.Zero, 1, timeout.Token);

            Assert.True(report.Status == "measured", string.Join("; ", report.Errors));
            Assert.Empty(report.Errors);
            Assert.Equal(384, report.Dimensions);
            Assert.Equal([1, 8, 32], report.Levels.Select(l => l.BatchSize));
            Assert.All(report.Levels, l => Assert.True(l.TextsPerSecond > 0 && l.TokensPerSecond > l.TextsPerSecond));
            Assert.NotNull(report.Batch32OverBatch1);
        }
    }
}
