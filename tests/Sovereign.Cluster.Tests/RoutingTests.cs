using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Sovereign.Cluster.Tests.Support;

namespace Sovereign.Cluster.Tests;

/// <summary>Placement and streaming across real nodes: a request enters one node and runs on another.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RoutingTests
{
    [Fact]
    public async Task A_request_entering_a_node_without_the_model_runs_where_the_model_is_loaded_and_streams_back_through_the_entry_node()
    {
        await using var cluster = await TestCluster.StartAsync([("a", false), ("b", true), ("c", true)]);
        var (a, b, c) = (cluster["a"], cluster["b"], cluster["c"]);
        await b.Engine.LoadAsync(ClusterNode.Model);
        var servedLocally = await b.CompleteAsync();

        // Placement: loaded on b beats stored on c; a has no copy at all.
        var servedThroughA = await a.CompleteAsync();
        Assert.Equal(servedLocally, servedThroughA);
        Assert.Contains("Lily", servedThroughA, StringComparison.Ordinal);
        Assert.Equal((0, 1, 0), (a.Engine.RunnerStarts, b.Engine.RunnerStarts, c.Engine.RunnerStarts));

        // Streaming: the SSE stream a sends is b's tokens, ending as a single node's stream does; a long one arrives in
        // several chunks (tokens that queue up between nodes travel together, so a short one may come as one).
        var (_, text, done) = await StreamAsync(a, 24);
        Assert.Equal(servedLocally, text);
        Assert.True(done);
        var (chunks, _, longDone) = await StreamAsync(a, 400);
        Assert.True(chunks > 1, $"expected several chunks, got {chunks}");
        Assert.True(longDone);
        Assert.Equal((0, 1, 0), (a.Engine.RunnerStarts, b.Engine.RunnerStarts, c.Engine.RunnerStarts));

        // Loaded nowhere: a node that stores it loads it (a, which does not, never does).
        Assert.True(await b.Engine.UnloadAsync(ClusterNode.Model));
        Assert.Equal(servedLocally, await a.CompleteAsync());
        Assert.Equal(0, a.Engine.RunnerStarts);
        Assert.Equal(2, b.Engine.RunnerStarts + c.Engine.RunnerStarts);

        // On no node at all: the same 404 as a single server gives.
        using var missing = await a.Http.PostAsJsonAsync("v1/completions", new { model = "absent", prompt = "x", max_tokens = 2 });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("model_not_found", JsonNode.Parse(await missing.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
    }

    private static async Task<(int Chunks, string Text, bool Done)> StreamAsync(ClusterNode node, int maxTokens)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = JsonContent.Create(new { model = ClusterNode.Model, prompt = "Once upon a time", max_tokens = maxTokens, temperature = 0, ignore_eos = maxTokens > 24, stream = true }),
        };
        using var response = await node.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();
        var chunks = 0;
        var done = false;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var data = line["data: ".Length..];
            if (data == "[DONE]")
            {
                done = true;
                break;
            }
            var piece = JsonNode.Parse(data)!["choices"]![0]!["text"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(piece))
            {
                chunks++;
                text.Append(piece);
            }
        }
        return (chunks, text.ToString(), done);
    }
}
