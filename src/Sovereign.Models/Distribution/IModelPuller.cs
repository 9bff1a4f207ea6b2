namespace Sovereign.Models.Distribution;

/// <summary>One progress report of a pull, in the shape Ollama streams (status, digest, total, completed).</summary>
public sealed record PullProgress(string Status, string? Digest = null, long? Total = null, long? Completed = null);

/// <summary>
/// Fetches a model from the organisation's configured mirrors (and only from them) into the local store,
/// verifying every blob's SHA-256 while it streams and resuming an interrupted pull. Thread-safe.
/// </summary>
public interface IModelPuller
{
    /// <summary>
    /// Streams progress; the last report has status "success". Unknown models (404 on every mirror), no mirrors
    /// configured, and digest mismatches throw <see cref="Core.Errors.SovereignException"/> with a clear message.
    /// </summary>
    IAsyncEnumerable<PullProgress> PullAsync(string reference, CancellationToken cancellationToken = default);
}
