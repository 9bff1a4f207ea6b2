using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sovereign.Inference.Hosting;
using Sovereign.Server.Tests.EndToEnd;

namespace Sovereign.Server.Tests.Knowledge;

/// <summary>
/// <c>Sovereign:Knowledge:Reranker</c> in a real server: the imported stories260K (as "stories") reranks through its
/// real runner process (yes/no method; its scores mean nothing, the order they give is checked), and a name missing
/// from the model store stops start-up.
/// </summary>
public sealed class RerankedSearchTests
{
    [Fact]
    public async Task Search_results_carry_rerank_score_from_the_models_runner_and_are_ordered_by_it()
    {
        await using var server = await SovereignTestServer.StartAsync("--Sovereign:Knowledge:Reranker=stories", "--Sovereign:Knowledge:RerankCandidates=6");
        var client = server.Http;
        await client.CreateBaseAsync("handbook");
        var docs = await client.IngestAsync("handbook",
            KnowledgeClient.Text("visiting.txt", "Visitors may come between 14:00 and 19:00, two at a time."),
            KnowledgeClient.Text("parking.txt", "Night shift workers park free of charge after 19:00."),
            KnowledgeClient.Text("pharmacy.txt", "The pharmacy is open from 08:00 to 20:00 on weekdays."),
            KnowledgeClient.Text("fire.txt", "In case of fire, never use the lifts."));
        Assert.All(docs, d => Assert.Equal("ready", d["status"]!.GetValue<string>()));

        foreach (var mode in new[] { "hybrid", "vector", "fulltext" })
        {
            var hits = await client.SearchAsync("handbook", "When can visitors come?", mode, topK: 3);

            Assert.InRange(hits.Count, 1, 3);
            var rerank = hits.Select(h => h!["rerank_score"]!.GetValue<double>()).ToList();
            Assert.All(rerank, s => Assert.InRange(s, 0, 1));
            Assert.Equal(rerank.OrderByDescending(s => s), rerank);
            Assert.All(hits, h => Assert.NotNull(h!["score"]));
        }
        Assert.Contains(server.Services.GetRequiredService<ModelManager>().Loaded(), m => m.Name == "stories:latest");
    }

    [Fact]
    public async Task A_reranker_missing_from_the_model_store_stops_start_up_naming_the_setting()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => SovereignTestServer.StartAsync("--Sovereign:Knowledge:Reranker=bge-reranker-v2-m3"));

        Assert.Contains("Sovereign:Knowledge:Reranker", error.Message);
        Assert.Contains("'bge-reranker-v2-m3'", error.Message);
    }
}
