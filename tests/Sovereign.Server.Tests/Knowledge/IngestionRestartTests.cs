using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Core.Embeddings;
using Sovereign.Core.Tenancy;
using Sovereign.Inference.Embeddings;
using Sovereign.Knowledge.Index;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Knowledge;

public sealed class IngestionRestartTests
{
    private static string LongHandbook()
    {
        var text = new StringBuilder("# Ward procedures\n\n");
        for (var i = 1; i <= 12; i++)
            text.Append("## Procedure ").Append(i).Append("\n\nStep ").Append(i)
                .Append(" of the ward routine: check the chart, confirm the patient's name and date of birth, and record what was done and when.\n\n");
        return text.ToString();
    }

    [Fact]
    public async Task A_server_stopped_during_ingestion_resumes_the_job_on_restart_and_finishes_without_duplicates()
    {
        var home = TestHost.NewHome();
        try
        {
            string kbId, docId;
            var stalled = new StallingEmbeddings(new EmbeddingService(Microsoft.Extensions.Options.Options.Create(new EmbeddingOptions())), stallAtCall: 3);

            // :: A server whose embedding stalls mid-document (as a slow model would) is stopped while the job runs.
            await using (var first = await TestHost.StartAsync(home, settings: ["--Sovereign:Knowledge:EmbeddingBatchSize=2", "--Sovereign:Knowledge:ChunkTokens=40",
                             "--Sovereign:Knowledge:ChunkOverlapTokens=4"],
                             configure: b => b.Services.AddSingleton<IEmbeddingService>(stalled)))
            {
                var client = first.AdminClient();
                kbId = (await client.CreateBaseAsync("wards"))["id"]!.GetValue<string>();
                var (_, accepted) = await client.UploadAsync("wards", KnowledgeClient.Files(KnowledgeClient.Text("procedures.md", LongHandbook(), "text/markdown")));
                docId = accepted["data"]![0]!["id"]!.GetValue<string>();
                await stalled.Stalled.WaitAsync(TimeSpan.FromSeconds(120));
                var (_, running) = await client.GetJsonAsync($"v1/knowledge/wards/documents/{docId}");
                Assert.Equal("processing", running["status"]!.GetValue<string>());
                Assert.Equal("embedding", running["stage"]!.GetValue<string>());
                Assert.InRange(running["progress"]!.GetValue<double>(), 0.25, 0.95);
            }

            // :: The next start finds the unfinished job and completes it.
            await using var second = await TestHost.StartAsync(home, settings: ["--Sovereign:Knowledge:EmbeddingBatchSize=2", "--Sovereign:Knowledge:ChunkTokens=40",
                "--Sovereign:Knowledge:ChunkOverlapTokens=4"]);
            var resumed = await second.AdminClient().WaitForDocumentAsync("wards", docId);

            Assert.Equal("ready", resumed["status"]!.GetValue<string>());
            Assert.Equal(2, resumed["attempts"]!.GetValue<int>());
            var chunks = resumed["chunks"]!.GetValue<int>();
            Assert.True(chunks > 6, $"expected many chunks, got {chunks}");
            using (TenantScope.Enter(TenantScope.DefaultTenant))
                Assert.Equal(new IndexCounts(chunks, chunks, chunks), await second.Services.GetRequiredService<IKnowledgeIndex>().CountAsync(kbId));
            var hits = await second.AdminClient().SearchAsync("wards", "Procedure 7", "fulltext", topK: 100);
            Assert.Equal(hits.Count, hits.Select(h => h!["chunk_id"]!.GetValue<string>()).Distinct().Count());
        }
        finally
        {
            TestHost.TryDelete(home);
        }
    }

    /// <summary>
    /// The real embedding service, except that call number <c>stallAtCall</c> (counting from 1, after the knowledge
    /// base's creation probe) waits until the server stops: a stand-in for a slow model that lets the test stop the
    /// server at a known point of the job.
    /// </summary>
    private sealed class StallingEmbeddings(IEmbeddingService inner, int stallAtCall) : IEmbeddingService
    {
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public Task Stalled => _stalled.Task;

        public string DefaultModel => inner.DefaultModel;

        public async Task<EmbeddingBatch> EmbedAsync(string? model, IReadOnlyList<string> inputs, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _calls) == stallAtCall + 1)
            {
                _stalled.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            return await inner.EmbedAsync(model, inputs, cancellationToken);
        }
    }
}
