using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Sovereign.Server.Tests.EndToEnd;

/// <summary>
/// The correctness oracle: greedy text through the whole platform (HTTP → server → runner process → engine
/// loop) equals greedy text from LLamaSharp driven directly, one token at a time, on the same model and prompt.
/// </summary>
[Collection(SharedServerCollection.Name)]
public sealed class ReferenceEngineTests(SharedServerFixture fixture)
{
    private readonly SovereignTestServer _server = fixture.Server;

    [Theory]
    [InlineData("Once upon a time", 64)]
    [InlineData("The dog ran to the", 48)]
    public async Task Greedy_output_through_the_api_equals_plain_llamasharp(string prompt, int maxTokens)
    {
        var expected = ReferenceGreedy(prompt, maxTokens);

        var body = new JsonObject { ["model"] = SovereignTestServer.Model, ["prompt"] = prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0 };
        using var response = await _server.Http.PostAsJsonAsync("v1/completions", body);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(expected, (string?)json["choices"]![0]!["text"]);
    }

    /// <summary>Single sequence, argmax of the logits after each decode, stop at end-of-generation.</summary>
    private static string ReferenceGreedy(string prompt, int maxTokens)
    {
        var parameters = new ModelParams(TestModels.Stories260K) { ContextSize = 512, BatchSize = 512, Threads = 1 };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        var vocab = weights.Vocab;
        var tokens = context.Tokenize(prompt, addBos: true, special: false);

        var batch = new LLamaBatch();
        for (var i = 0; i < tokens.Length; i++) batch.Add(tokens[i], i, LLamaSeqId.Zero, i == tokens.Length - 1);
        var position = tokens.Length;
        var decoder = new StreamingTokenDecoder(context);
        var text = new StringBuilder();
        for (var n = 0; n < maxTokens; n++)
        {
            if (context.Decode(batch) != DecodeResult.Ok) throw new InvalidOperationException("decode failed");
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            var best = 0;
            for (var t = 1; t < logits.Length; t++) if (logits[t] > logits[best]) best = t;
            var token = (LLamaToken)best;
            if (token.IsEndOfGeneration(vocab)) break;
            decoder.Add(token);
            text.Append(decoder.Read());
            batch.Clear();
            batch.Add(token, position++, LLamaSeqId.Zero, true);
        }
        return text.ToString();
    }
}
