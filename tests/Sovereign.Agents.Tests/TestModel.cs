using System.Runtime.CompilerServices;
using LLama.Native;
using Sovereign.Core.Generation;
using Sovereign.Inference.Engine;

namespace Sovereign.Agents.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealModelCollection
{
    public const string Name = "real model";
}

/// <summary>The tiny real model (stories260K) from ../shared/models, loaded in-process with the chatml template.</summary>
internal static class TestModel
{
    public static string Path { get; } = Sovereign.TestSupport.Models.SharedModels.RequireStories260K();

    static TestModel()
    {
        NativeLogConfig.llama_log_set((level, message) =>
        {
            if (level == LLamaLogLevel.Error)
                Console.Error.Write(message);
        });
    }

    public static LlamaEngine Load() =>
        LlamaEngine.Load(new EngineSettings { ModelPath = Path, Slots = 4, ContextSize = 2048, Threads = 1, ChatTemplateOverride = "chatml" });
}

/// <summary>The real engine behind IInferenceService, in-process (the server puts runner processes there instead).</summary>
internal sealed class EngineInference(LlamaEngine engine) : IInferenceService
{
    public string Backend => engine.NativeBackend;

    public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var e in engine.Submit(request, cancellationToken).ReadAllAsync(cancellationToken))
            yield return e;
    }

    public IReadOnlyList<LoadedModelInfo> Loaded() => [];

    public Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default) => Task.FromResult(false);

    public Task<LoadedModelInfo> LoadAsync(string model, TimeSpan? keepAlive = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();
}
