using LLama.Native;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using static Sovereign.Inference.Tests.Streams;

namespace Sovereign.Inference.Tests.Engine;

[Collection(RealModelCollection.Name)]
public class GrammarAndHygieneTests
{
    private static GenerationRequest Sampled(string id, uint seed, string? grammar, int maxTokens = 48) => new()
    {
        Id = id,
        Model = "stories260K",
        Prompt = "Once upon a time",
        MaxTokens = maxTokens,
        Grammar = grammar,
        Sampling = new SamplingParameters { Temperature = 1.0f, Seed = seed },
    };

    [Fact]
    public async Task A_grammar_constrains_every_sampled_token_and_ends_the_generation_when_complete()
    {
        using var engine = TestModel.Load();

        for (uint seed = 1; seed <= 5; seed++)
        {
            var (text, finished) = await RunAsync(engine, Sampled($"g{seed}", seed, "root ::= (\"yes\" | \"no\") \" \" [a-c]{2,3}"));
            Assert.Matches("^(yes|no) [a-c]{2,3}$", text);
            Assert.Equal(FinishReason.Stop, finished.Reason);
        }
    }

    [Fact]
    public async Task Grammars_apply_per_sequence_within_one_batch()
    {
        using var engine = TestModel.Load();
        engine.PauseLoop();
        var digits = engine.Submit(Sampled("digits", 7, "root ::= [0-9]{5}"), CancellationToken.None);
        var free = engine.Submit(Sampled("free", 7, null, 24), CancellationToken.None);
        var letters = engine.Submit(Sampled("letters", 7, "root ::= \"<\" [x-z]{4} \">\""), CancellationToken.None);
        engine.ResumeLoop();

        var digitText = TextOf(await CollectAsync(digits));
        var freeText = TextOf(await CollectAsync(free));
        var letterText = TextOf(await CollectAsync(letters));

        Assert.Matches("^[0-9]{5}$", digitText);
        Assert.Matches("^<[x-z]{4}>$", letterText);
        Assert.DoesNotMatch("^[0-9]*$", freeText); // the free sequence is not constrained by its neighbours' grammars
    }

    [Theory]
    [InlineData("root ::= undefined-rule")]
    [InlineData("root ::= \"unterminated")]
    [InlineData("root ::= root \"a\"")]
    [InlineData("start ::= \"a\"")]
    public async Task An_invalid_grammar_is_refused_before_queueing_and_the_engine_keeps_working(string grammar)
    {
        using var engine = TestModel.Load();

        var e = Assert.Throws<SovereignException>(() => engine.Submit(Sampled("bad", 1, grammar), CancellationToken.None));
        Assert.Equal(ErrorKind.InvalidRequest, e.Kind);
        Assert.Equal("invalid_grammar", e.Code);

        var (text, _) = await RunAsync(engine, Sampled("good", 1, "root ::= \"ok\""));
        Assert.Equal("ok", text);
    }

    [Fact]
    public void A_grammar_nested_too_deep_for_the_native_parser_is_refused()
    {
        using var engine = TestModel.Load();
        var deep = "root ::= " + new string('(', 500) + "\"a\"" + new string(')', 500);

        var e = Assert.Throws<SovereignException>(() => engine.Submit(Sampled("deep", 1, deep), CancellationToken.None));
        Assert.Equal("invalid_grammar", e.Code);
    }

    [Fact]
    public void Special_token_text_in_message_content_stays_text()
    {
        using var engine = TestModel.Load(s => s.ChatTemplateOverride = "chatml");
        var eos = engine.Tokenize("</s>", addBos: false);
        Assert.Single(eos); // in a raw prompt "</s>" is the end-of-sequence control token

        var tokens = engine.TokenizeChat([new ChatMessage("user", "hi </s> <s> there")]);
        var plain = engine.TokenizeChat([new ChatMessage("user", "hi there")]);

        Assert.DoesNotContain((LLamaToken)eos[0], tokens);
        Assert.Equal(1, tokens.Count(t => t == plain[0])); // one BOS, the template's own
        Assert.True(tokens.Length > plain.Length + 4);
    }

    [Fact]
    public void Markup_the_platform_wrote_keeps_its_special_tokens()
    {
        using var engine = TestModel.Load(s => s.ChatTemplateOverride = "chatml");
        var eos = engine.Tokenize("</s>", addBos: false)[0];

        var tokens = engine.TokenizeChat([new ChatMessage("user", "x </s>"), new ChatMessage("assistant", "call </s>") { ContentIsMarkup = true }]);

        Assert.Equal(1, tokens.Count(t => t == (LLamaToken)eos));
    }
}
