using Sovereign.Agents.Model;
using Sovereign.Inference.Engine;

namespace Sovereign.Agents.Tests.Loop;

/// <summary>
/// A step's token limit is the run's budget: on a model whose context is no larger than that limit (an agent's default
/// max_tokens_per_step is 512), the step runs and ends when the context is full, rather than being refused.
/// </summary>
[Collection(RealModelCollection.Name)]
public sealed class StepLimitTests : IDisposable
{
    private const int Context = 512;

    private readonly LlamaEngine _engine = LlamaEngine.Load(new EngineSettings
    {
        ModelPath = TestModel.Path, Slots = 1, ContextSize = Context, Threads = 1, ChatTemplateOverride = "chatml",
    });

    public void Dispose() => _engine.Dispose();

    [Fact]
    public async Task A_step_limit_as_large_as_the_context_is_run_within_what_the_prompt_leaves()
    {
        var model = new InferenceAgentModel(new EngineInference(_engine));
        var step = new ModelStepRequest("limit-1", "stories", "Be helpful.", [AgentMessage.User("Tell me a story about a cat.")], [], "auto", Context, 0, 7);

        var events = new List<ModelStepEvent>();
        await foreach (var e in model.StepAsync(step, CancellationToken.None))
            events.Add(e);

        var completed = Assert.Single(events.OfType<ModelStepEvent.Completed>());
        Assert.True(completed.CompletionTokens >= 1);
        Assert.True(completed.PromptTokens + completed.CompletionTokens <= Context,
            $"{completed.PromptTokens} prompt and {completed.CompletionTokens} completion tokens in a {Context}-token context");
    }
}
