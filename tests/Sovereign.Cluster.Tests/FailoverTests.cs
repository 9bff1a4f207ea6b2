using Sovereign.Cluster.Tests.Support;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Cluster.Tests;

/// <summary>Nodes that are lost: the client should not notice when it happens before its first token.</summary>
[Collection(ClusterCollection.Name)]
public sealed class FailoverTests
{
    [Fact]
    public async Task A_request_routed_to_a_node_that_died_before_its_first_token_is_served_by_another_node_unnoticed()
    {
        // Advertisements are kept for minutes, so the entry node still believes the dead node has the model loaded:
        // the request really is sent to the dead node first, and must be moved.
        await using var cluster = await TestCluster.StartAsync([("a", false), ("b", true), ("c", true)], "--Sovereign:ClusterReportLifetime=00:10:00");
        var (a, b, c) = (cluster["a"], cluster["b"], cluster["c"]);
        await b.Engine.LoadAsync(ClusterNode.Model);
        var before = await a.CompleteAsync();
        Assert.Equal((1, 0), (b.Engine.RunnerStarts, c.Engine.RunnerStarts));

        await b.KillAsync();
        var after = await a.CompleteAsync();

        Assert.Equal(before, after);
        Assert.Equal(1, c.Engine.RunnerStarts);
        Assert.Equal(0, a.Engine.RunnerStarts);
        Assert.Equal(1, a.Router.Failovers);
    }

    [Fact]
    public async Task A_node_lost_after_tokens_were_sent_ends_the_stream_with_an_error_event_instead_of_hanging()
    {
        await using var cluster = await TestCluster.StartAsync([("a", false), ("b", true)]);
        var (a, b) = (cluster["a"], cluster["b"]);
        await b.Engine.LoadAsync(ClusterNode.Model);
        var request = new GenerationRequest
        {
            Id = "mid-stream",
            Model = ClusterNode.Model,
            Prompt = "Once upon a time",
            MaxTokens = 450,
            IgnoreEos = true,
            Sampling = SamplingParameters.Greedy,
        };

        // Orleans hands over at most one batch of events per call, so after the first token most of the 450 are
        // still on b: killing b now must cut the stream short, whatever the machine's speed.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var events = new List<GenerationEvent>();
        await foreach (var e in a.Router.GenerateAsync(request, timeout.Token))
        {
            events.Add(e);
            if (e is GenerationEvent.TextDelta && b.Running) await b.KillAsync();
        }

        Assert.IsType<GenerationEvent.Started>(events[0]);
        var failed = Assert.IsType<GenerationEvent.Failed>(events[^1]);
        Assert.Equal((ErrorKind.Unavailable, "node_lost"), (failed.Kind, failed.Code));
        Assert.InRange(events.OfType<GenerationEvent.TextDelta>().Sum(d => d.Tokens), 1, 449);
        Assert.Equal(0, a.Router.Failovers);
    }
}
