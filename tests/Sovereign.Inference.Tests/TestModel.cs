using System.Text;
using System.Threading.Channels;
using LLama.Native;
using Sovereign.Core.Generation;
using Sovereign.Inference.Engine;

namespace Sovereign.Inference.Tests;

/// <summary>Real-model tests share the two cores; running them one at a time keeps llama.cpp's threads from fighting.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealModelCollection
{
    public const string Name = "real model";
}

/// <summary>The tiny real model (stories260K) from ../shared/models, next to the repository.</summary>
internal static class TestModel
{
    public static string Path { get; } = Sovereign.TestSupport.Models.SharedModels.RequireStories260K();

    static TestModel()
    {
        // llama.cpp logs every load at length; keep test output to its errors.
        NativeLogConfig.llama_log_set((level, message) =>
        {
            if (level == LLamaLogLevel.Error)
                Console.Error.Write(message);
        });
    }

    public static LlamaEngine Load(Action<EngineSettings>? configure = null)
    {
        // One thread: on a tiny model it is faster than two (no OpenMP barriers), and it keeps tests steady on a busy machine.
        var settings = new EngineSettings { ModelPath = Path, Slots = 4, ContextSize = 512, Threads = 1 };
        configure?.Invoke(settings);
        return LlamaEngine.Load(settings);
    }

    public static GenerationRequest Greedy(string prompt, int? maxTokens = 64, string id = "r") => new()
    {
        Id = id,
        Model = "stories260K",
        Prompt = prompt,
        MaxTokens = maxTokens,
        Sampling = SamplingParameters.Greedy,
    };
}

internal static class Streams
{
    /// <summary>Every event of a stream, in order (bounded: fails after a minute).</summary>
    public static async Task<List<GenerationEvent>> CollectAsync(ChannelReader<GenerationEvent> reader)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = new List<GenerationEvent>();
        await foreach (var e in reader.ReadAllAsync(timeout.Token))
            events.Add(e);
        return events;
    }

    public static string TextOf(IEnumerable<GenerationEvent> events) =>
        string.Concat(events.OfType<GenerationEvent.TextDelta>().Select(d => d.Text));

    /// <summary>Checks the stream's shape (Started, deltas, one final event) and returns the Finished event.</summary>
    public static GenerationEvent.Finished Finished(IReadOnlyList<GenerationEvent> events)
    {
        Assert.IsType<GenerationEvent.Started>(events[0]);
        Assert.All(events.Skip(1).SkipLast(1), e => Assert.IsType<GenerationEvent.TextDelta>(e));
        if (events[^1] is GenerationEvent.Failed failed)
            Assert.Fail($"The stream failed: {failed.Kind} {failed.Code}: {failed.Message}");
        return Assert.IsType<GenerationEvent.Finished>(events[^1]);
    }

    public static async Task<(string Text, GenerationEvent.Finished Finished)> RunAsync(LlamaEngine engine, GenerationRequest request)
    {
        var events = await CollectAsync(engine.Submit(request, CancellationToken.None));
        return (TextOf(events), Finished(events));
    }
}

/// <summary>
/// The correctness oracle: a plain single-sequence greedy loop written directly against LLamaSharp (decode the prompt,
/// take the argmax of the logits, decode it, repeat), with nothing of the engine in it.
/// </summary>
internal static class ReferenceLoop
{
    public static (string Text, int Tokens) Greedy(string prompt, int maxTokens)
    {
        NativeApi.llama_empty_call();
        var modelParams = LLamaModelParams.Default();
        modelParams.n_gpu_layers = 0;
        using var model = SafeLlamaModelHandle.LoadFromFile(TestModel.Path, modelParams);
        var contextParams = LLamaContextParams.Default();
        contextParams.n_ctx = 2048;
        contextParams.n_batch = 512;
        contextParams.n_ubatch = 512;
        contextParams.n_seq_max = 1;
        contextParams.n_threads = 1;
        contextParams.n_threads_batch = 1;
        contextParams.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        using var context = SafeLLamaContextHandle.Create(model, contextParams);

        var promptTokens = model.Tokenize(prompt, model.Vocab.ShouldAddBOS, true, Encoding.UTF8);
        var batch = new LLamaBatch();
        batch.AddRange(promptTokens, 0, (LLamaSeqId)0, true);
        Assert.Equal(DecodeResult.Ok, context.Decode(batch));

        var bytes = new List<byte>();
        var piece = new byte[256];
        var position = promptTokens.Length;
        var logitIndex = promptTokens.Length - 1;
        var count = 0;
        while (count < maxTokens)
        {
            var logits = context.GetLogitsIth(logitIndex);
            var best = 0;
            for (var i = 1; i < logits.Length; i++)
            {
                if (logits[i] > logits[best])
                    best = i;
            }
            count++;
            if (((LLamaToken)best).IsEndOfGeneration(model.Vocab))
                break;
            var n = (int)model.TokenToSpan(best, piece);
            bytes.AddRange(piece.AsSpan(0, n));
            batch.Clear();
            batch.Add(best, position++, (LLamaSeqId)0, true);
            Assert.Equal(DecodeResult.Ok, context.Decode(batch));
            logitIndex = 0;
        }
        return (Encoding.UTF8.GetString(bytes.ToArray()), count);
    }
}
