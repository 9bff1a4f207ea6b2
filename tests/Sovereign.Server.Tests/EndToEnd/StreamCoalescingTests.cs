using Microsoft.Extensions.DependencyInjection;
using Sovereign.Core.Generation;
using Sovereign.Inference.Hosting;

namespace Sovereign.Server.Tests.EndToEnd;

/// <summary>
/// A consumer slower than the engine (a slow client, a busy network) gets the text that queued up meanwhile in fewer,
/// larger deltas: the same text and the same token count, in fewer messages between runner, server and client.
/// </summary>
public sealed class StreamCoalescingTests
{
    private const int Tokens = 64;

    private static GenerationRequest Request(string id) => new()
    {
        Id = id,
        Model = SovereignTestServer.Model,
        Prompt = "Once upon a time",
        MaxTokens = Tokens,
        IgnoreEos = true,
        Sampling = SamplingParameters.Greedy,
    };

    private static async Task<(List<GenerationEvent.TextDelta> Deltas, GenerationEvent.Finished Finished)> ReadAsync(IInferenceService inference, string id, TimeSpan pause)
    {
        var deltas = new List<GenerationEvent.TextDelta>();
        GenerationEvent.Finished? finished = null;
        await foreach (var e in inference.GenerateAsync(Request(id), CancellationToken.None))
        {
            if (e is GenerationEvent.TextDelta d) deltas.Add(d);
            if (e is GenerationEvent.Finished f) finished = f;
            if (pause > TimeSpan.Zero) await Task.Delay(pause);
        }
        return (deltas, finished ?? throw new InvalidOperationException("The stream ended without a Finished event."));
    }

    [Fact]
    public async Task Text_that_queued_behind_a_slow_consumer_arrives_joined_with_every_token_counted()
    {
        await using var server = await SovereignTestServer.StartAsync();
        var inference = server.Services.GetRequiredService<ModelManager>();

        var (eager, _) = await ReadAsync(inference, "eager", TimeSpan.Zero);
        var (slow, finished) = await ReadAsync(inference, "slow", TimeSpan.FromMilliseconds(20));

        Assert.Equal(string.Concat(eager.Select(d => d.Text)), string.Concat(slow.Select(d => d.Text)));
        Assert.Equal(Tokens, finished.Usage.CompletionTokens);
        Assert.Equal(Tokens, slow.Sum(d => d.Tokens));
        Assert.Contains(slow, d => d.Tokens > 1);
        Assert.True(slow.Count < Tokens, $"{slow.Count} deltas for {Tokens} tokens: nothing was joined.");
    }
}
