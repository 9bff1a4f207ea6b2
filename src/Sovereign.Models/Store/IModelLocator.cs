namespace Sovereign.Models.Store;

/// <summary>
/// Finds the model a request names wherever it can run: in this node's store, or, in a cluster, in any node's (the
/// request is then routed there). Every API that accepts a model name asks this, not the store, so that a model stored
/// only on another node is accepted the same way by the OpenAI and Ollama APIs, agents and apps. Thread-safe.
/// </summary>
public interface IModelLocator
{
    /// <summary>The manifest of <paramref name="reference"/> (name[:tag] or digest); null when no node has it.</summary>
    ValueTask<ModelManifest?> FindAsync(string reference, CancellationToken cancellationToken = default);
}

/// <summary>A single node: the model store is the whole world.</summary>
public sealed class LocalModelLocator(IModelStore store) : IModelLocator
{
    public ValueTask<ModelManifest?> FindAsync(string reference, CancellationToken cancellationToken = default) => ValueTask.FromResult(store.Find(reference));
}
