namespace Sovereign.Core.Generation;

/// <summary>
/// The engine as the API layer sees it: find or load the model, run the request, stream its events.
/// Implementations are thread-safe: many requests run concurrently.
/// </summary>
public interface IInferenceService
{
    /// <summary>
    /// Validation failures, an unknown model and a full queue throw <see cref="Errors.SovereignException"/>
    /// before the first event; failures after that arrive as <see cref="GenerationEvent.Failed"/>.
    /// Cancelling <paramref name="cancellationToken"/> frees the sequence within one engine step.
    /// </summary>
    IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken);

    /// <summary>The models that have a running runner now.</summary>
    IReadOnlyList<LoadedModelInfo> Loaded();

    /// <summary>The native inference backend in use (e.g. "llama.cpp via LLamaSharp 0.30.0, CPU (AVX2)"), for /health and doctor.</summary>
    string Backend { get; }

    /// <summary>Ends the model's runner process (returning all its memory). False when it was not loaded.</summary>
    Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default);

    /// <summary>
    /// Loads the model without generating (Ollama's empty-prompt request) and sets its keep-alive as
    /// <see cref="GenerationRequest.KeepAlive"/> does. Throws 404 for an unknown model, 503 when it cannot fit.
    /// </summary>
    Task<LoadedModelInfo> LoadAsync(string model, TimeSpan? keepAlive = null, CancellationToken cancellationToken = default);
}

public sealed record LoadedModelInfo(string Name, string Digest, long SizeBytes, int ContextSize, int Slots, int Active, int Queued, DateTimeOffset LastUsed, int ProcessId)
{
    /// <summary>What the model is charged against the memory budget: weights plus its KV cache (an estimate).</summary>
    public long MemoryBytes { get; init; }

    /// <summary>When it unloads if nothing uses it; null when it stays loaded until evicted or unloaded.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
}
