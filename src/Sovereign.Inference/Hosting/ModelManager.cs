using System.Runtime.CompilerServices;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Inference.Hosting;

/// <summary>Placeholder being replaced by the runner supervisor.</summary>
public sealed class ModelManager : IInferenceService
{
    public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        throw new SovereignException(ErrorKind.Unavailable, "engine not wired yet");
#pragma warning disable CS0162
        yield break;
#pragma warning restore CS0162
    }

    public IReadOnlyList<LoadedModelInfo> Loaded() => [];

    public string Backend => "llama.cpp (not started)";

    public Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default) => Task.FromResult(false);
}
