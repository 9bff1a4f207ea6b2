using System.Runtime.CompilerServices;
using Sovereign.Agents.Model;
using Sovereign.Agents.Tools;
using Sovereign.Agents.Tools.Calculator;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Inference.Engine;

namespace Sovereign.Agents.Tests.Loop;

/// <summary>
/// A model step cut short (by the run's wall clock, or by a runner that stops streaming) is never read as the model's
/// answer: the few tokens written before the cut are not a finished output.
/// </summary>
[Collection(RealModelCollection.Name)]
public sealed class CutShortStepTests : IDisposable
{
    private readonly LlamaEngine _engine = TestModel.Load();

    public void Dispose() => _engine.Dispose();

    private static ModelStepRequest ForcedCalculatorStep() =>
        new("cut-1", "stories", "Be helpful.", [AgentMessage.User("What is 2 + 2?")], [new CalculatorTool()], "calculator", 160, 0, 7);

    [Fact]
    public async Task A_step_cancelled_after_its_first_tokens_is_a_cancellation_not_an_answer()
    {
        using var cut = new CancellationTokenSource();
        var model = new InferenceAgentModel(new QuietOnCancel(_engine, cancelAfterDeltas: 2, cut));
        var events = new List<ModelStepEvent>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var e in model.StepAsync(ForcedCalculatorStep(), cut.Token))
                events.Add(e);
        });

        Assert.Contains(events, e => e is ModelStepEvent.Delta);
        Assert.DoesNotContain(events, e => e is ModelStepEvent.Completed);
    }

    [Fact]
    public async Task A_stream_that_ends_without_finishing_is_an_error_not_an_answer()
    {
        var model = new InferenceAgentModel(new QuietOnCancel(_engine, cancelAfterDeltas: 2, cut: null));

        var error = await Assert.ThrowsAsync<SovereignException>(async () =>
        {
            await foreach (var e in model.StepAsync(ForcedCalculatorStep(), CancellationToken.None))
                Assert.IsNotType<ModelStepEvent.Completed>(e);
        });

        Assert.Equal("generation_incomplete", error.Code);
    }

    /// <summary>
    /// The real engine behind <see cref="IInferenceService"/>, ending its stream quietly after a number of text deltas the way
    /// the server's <c>ModelManager</c> does when a request is cancelled (and, with no token to cancel, the way a stream
    /// that simply stops looks). Where <paramref name="cut"/> is given, it is cancelled at that point first.
    /// </summary>
    private sealed class QuietOnCancel(LlamaEngine engine, int cancelAfterDeltas, CancellationTokenSource? cut) : IInferenceService
    {
        public string Backend => engine.NativeBackend;

        public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var deltas = 0;
            var reader = engine.Submit(request, stop.Token);
            while (true)
            {
                GenerationEvent e;
                try
                {
                    if (!await reader.WaitToReadAsync(stop.Token) || !reader.TryRead(out e!)) yield break;
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }
                yield return e;
                if (e is GenerationEvent.TextDelta && ++deltas == cancelAfterDeltas)
                {
                    if (cut is not null) await cut.CancelAsync();
                    await stop.CancelAsync();
                    yield break;
                }
            }
        }

        public IReadOnlyList<LoadedModelInfo> Loaded() => [];

        public Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default) => Task.FromResult(false);

        public Task<LoadedModelInfo> LoadAsync(string model, TimeSpan? keepAlive = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }
}
