using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Cluster.Knowledge;
using Sovereign.Cluster.Tests.Support;
using Sovereign.Core.Tenancy;
using Sovereign.Server;
using Sovereign.TestSupport.Postgres;

namespace Sovereign.Cluster.Tests;

/// <summary>
/// Knowledge at scale: with a shared PostgreSQL database, a base uploaded through one node is ingested once, served
/// by every node, and its vectors are split into partitions that the cluster spreads over its nodes. The same corpus
/// gives the same results as the single-node SQLite index, and a search survives the loss of a node holding a partition.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class KnowledgeAtScaleTests
{
    private static readonly (string Name, string Text)[] Corpus =
    [
        ("hand-hygiene.md", "# Hand hygiene\n\nStaff wash their hands with soap for at least twenty seconds before and after every patient contact. Alcohol gel may be used when hands are not visibly dirty."),
        ("leave.md", "# Annual leave\n\nAnnual leave requests go to the ward manager at least four weeks in advance. Requests for December are decided by lottery."),
        ("pharmacy.md", "# Pharmacy\n\nThe hospital pharmacy is open from eight in the morning to eight in the evening on weekdays, and closed on Sundays and public holidays."),
        ("fire.md", "# Fire safety\n\nIn case of fire, raise the alarm, move patients horizontally to the next fire compartment and never use the lifts."),
        ("visitors.md", "# Visiting hours\n\nVisitors may come between two and seven in the afternoon. Each patient may receive at most two visitors at a time."),
        ("records.md", "# Medical records\n\nMedical records are kept for twenty-five years after the last entry."),
        ("overtime.md", "# Overtime\n\nOvertime is paid at one and a half times the normal hourly rate on weekdays and twice the normal rate on public holidays."),
        ("parking.md", "# Parking\n\nStaff park in the north car park with a permit from the security office; the south car park is for patients and visitors."),
        ("meals.md", "# Meals\n\nThe staff canteen serves hot meals from noon to two; night staff may order sandwiches from the ward kitchen."),
        ("boiler.md", "# Boilers\n\nThe boiler room is inspected every spring by the facilities team, and the gas supply is tested every autumn."),
    ];

    private static readonly string[] Questions =
    [
        "How long must I wash my hands?",
        "When is the pharmacy closed?",
        "What do we do when there is a fire?",
        "How many visitors can a patient have?",
        "How much is overtime paid on a holiday?",
        "Where do staff park their cars?",
        "Who inspects the boiler room?",
        "How long are medical records kept?",
    ];

    [Fact]
    public async Task A_base_ingested_through_one_node_is_searched_on_partitions_across_the_nodes_with_the_results_of_the_single_node_index()
    {
        await using var postgres = await PostgresInstance.StartAsync();
        var database = await postgres.CreateDatabaseAsync();
        await using var single = await SingleNode.StartAsync();
        await using var cluster = await TestCluster.StartAsync([("a", false), ("b", false), ("c", false)],
            $"--Sovereign:Database={database}", "--Sovereign:Knowledge:VectorPartitions=4");
        var (a, b, c) = (cluster["a"], cluster["b"], cluster["c"]);

        // :: The same corpus into the single-node index and, through node a, into the cluster's.
        var singleKb = await CreateAndIngestAsync(single.Http, single.Http);
        var clusterKb = await CreateAndIngestAsync(a.Http, b.Http);

        // :: Every node answers every question as the single node does (vector search is exact on both).
        foreach (var question in Questions)
        {
            var expected = await SearchAsync(single.Http, singleKb, question, "vector");
            foreach (var node in new[] { a, b, c })
                Assert.Equal(expected, await SearchAsync(node.Http, clusterKb, question, "vector"));
            var top = (await SearchAsync(single.Http, singleKb, question, "hybrid"))[0];
            Assert.Equal(top, (await SearchAsync(c.Http, clusterKb, question, "hybrid"))[0]);
        }

        // :: The four partitions hold every chunk once, spread over more than one node.
        var grains = a.Services.GetRequiredService<IGrainFactory>();
        var partitions = await Task.WhenAll(Enumerable.Range(0, 4).Select(p =>
            grains.GetGrain<IKnowledgePartitionGrain>(PartitionKey.Of(TenantScope.DefaultTenant, clusterKb, p, 4)).DescribeAsync()));
        var chunks = (int)(await GetAsync(b.Http, $"v1/knowledge/{clusterKb}"))["chunk_count"]!;
        Assert.Equal(chunks, partitions.Sum(p => p.Vectors));
        Assert.True(partitions.Select(p => p.Node).Distinct().Count() > 1, string.Join(", ", partitions.Select(p => $"{p.Node}:{p.Vectors}")));

        // :: A node holding a partition dies; the search through another node still gives the same answer.
        var victim = partitions.Select(p => p.Node).First(n => n != "a");
        await cluster[victim].KillAsync();
        var survivor = victim == "b" ? c : b;
        var question2 = Questions[^1];
        Assert.Equal(await SearchAsync(single.Http, singleKb, question2, "vector"), await SearchAsync(survivor.Http, clusterKb, question2, "vector"));
    }

    /// <summary>Creates the base through <paramref name="writer"/>, uploads the corpus, and waits through <paramref name="reader"/> until all is ready.</summary>
    private static async Task<string> CreateAndIngestAsync(HttpClient writer, HttpClient reader)
    {
        var kb = (string)(await PostAsync(writer, "v1/knowledge", JsonContent.Create(new { name = "handbook" })))["id"]!;
        using var form = new MultipartFormDataContent();
        foreach (var (name, text) in Corpus)
        {
            var part = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
            part.Headers.ContentType = new MediaTypeHeaderValue("text/markdown");
            form.Add(part, "file", name);
        }
        var uploaded = await PostAsync(writer, $"v1/knowledge/{kb}/documents", form);
        foreach (var id in uploaded["data"]!.AsArray().Select(d => (string)d!["id"]!))
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (true)
            {
                var doc = await GetAsync(reader, $"v1/knowledge/{kb}/documents/{id}");
                var status = (string)doc["status"]!;
                if (status == "ready") break;
                Assert.True(status != "failed", doc.ToJsonString());
                Assert.True(DateTime.UtcNow < deadline, $"still {status}: {doc.ToJsonString()}");
                await Task.Delay(100);
            }
        }
        return kb;
    }

    /// <summary>The hits as "document: text" lines, in order.</summary>
    private static async Task<List<string>> SearchAsync(HttpClient http, string kb, string query, string mode)
    {
        var body = await PostAsync(http, $"v1/knowledge/{kb}/search", JsonContent.Create(new { query, mode, top_k = 5 }));
        return [.. body["data"]!.AsArray().Select(h => $"{h!["document_name"]}: {h["text"]}")];
    }

    private static async Task<JsonNode> PostAsync(HttpClient http, string path, HttpContent content)
    {
        using var response = await http.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task<JsonNode> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>A server on its own: SQLite, no cluster.</summary>
    private sealed class SingleNode : IAsyncDisposable
    {
        private readonly Microsoft.AspNetCore.Builder.WebApplication _app;
        private readonly string _home;

        private SingleNode(Microsoft.AspNetCore.Builder.WebApplication app, string home, HttpClient http)
        {
            _app = app;
            _home = home;
            Http = http;
        }

        public HttpClient Http { get; }

        public static async Task<SingleNode> StartAsync()
        {
            var home = Directory.CreateTempSubdirectory("sov-single-").FullName;
            var app = SovereignServer.Build(["--urls", "http://127.0.0.1:0", $"--Sovereign:Home={home}", $"--Sovereign:AdminKey={ClusterNode.AdminKey}",
                "--Logging:LogLevel:Default=Warning"]);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var http = new HttpClient { BaseAddress = new Uri(address.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(2) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterNode.AdminKey);
            return new SingleNode(app, home, http);
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
            try
            {
                Directory.Delete(_home, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
