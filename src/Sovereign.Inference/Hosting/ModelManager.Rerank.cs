using Grpc.Core;
using Sovereign.Core.Errors;

namespace Sovereign.Inference.Hosting;

/// <summary>Relevance scores in (0, 1), one per document in input order; the method is "rank" or "yes_no".</summary>
public sealed record RerankScores(string Model, IReadOnlyList<float> Scores, int PromptTokens, string Method);

// Reranking with an imported GGUF model, computed by the model's runner (the same one that generates with it, so
// the weights are loaded once).
public sealed partial class ModelManager
{
    /// <summary>Most documents one call may score; the caller bounds its candidates well below this.</summary>
    public const int MaxRerankDocuments = 256;

    /// <summary>
    /// Scores <paramref name="documents"/> against <paramref name="query"/> with the imported model <paramref name="model"/>,
    /// loading its runner if needed. A runner lost before it answered is replaced and the call tried once more. Thread-safe.
    /// </summary>
    /// <exception cref="SovereignException">404 model_not_found; 400 when the model cannot rerank; 503 when the runner fails.</exception>
    public async Task<RerankScores> RerankAsync(string model, string query, IReadOnlyList<string> documents, int maxDocumentTokens,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        if (documents.Count > MaxRerankDocuments)
            throw SovereignException.Invalid($"At most {MaxRerankDocuments} documents can be reranked at once, got {documents.Count}.", "documents", "too_many_inputs");
        var manifest = _store.Find(model)
            ?? throw SovereignException.NotFound($"The model '{model}' does not exist. Import it with `sov models import FILE.gguf`.", "model", "model_not_found");
        if (documents.Count == 0) return new RerankScores(manifest.Reference, [], 0, "");

        var request = new Protocol.RerankRequest { Query = query, MaxDocumentTokens = maxDocumentTokens };
        request.Documents.AddRange(documents);
        for (var attempt = 1; ; attempt++)
        {
            var runner = await AcquireRunnerAsync(manifest, cancellationToken);
            try
            {
                var reply = await runner.Process.Client.RerankAsync(request, cancellationToken: cancellationToken);
                return new RerankScores(manifest.Reference, [.. reply.Scores], reply.PromptTokens, reply.Method);
            }
            catch (RpcException e) when (Runner.RunnerErrors.FromRpc(e) is { } engineError)
            {
                throw engineError;
            }
            catch (RpcException) when (cancellationToken.IsCancellationRequested)
            {
                // Our caller went away; whatever status the aborted call reports, the runner is fine (see GenerateAsync).
                throw new OperationCanceledException(cancellationToken);
            }
            catch (RpcException e)
            {
                Abandon(runner);
                if (attempt < 2) continue;
                throw RunnerLost(runner, e.Status.Detail);
            }
            finally
            {
                Release(runner, null);
            }
        }
    }
}
