using Microsoft.Extensions.Options;
using Sovereign.Core.Errors;
using Sovereign.Inference.Hosting;

namespace Sovereign.Knowledge.Retrieval;

/// <summary>
/// Second-stage scoring of retrieved passages: reads the query and each passage together (a cross-encoder or a model
/// asked "does this passage answer the query?"), which ranks better than the first stage's separate scores but costs a
/// model pass per passage, so it only sees the first stage's best few. Thread-safe.
/// </summary>
public interface IPassageReranker
{
    /// <summary>The model that scores, as it is named in results.</summary>
    string Model { get; }

    /// <summary>A relevance score per passage, in input order; higher is more relevant.</summary>
    Task<IReadOnlyList<double>> ScoreAsync(string query, IReadOnlyList<string> passages, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IPassageReranker"/> with the imported GGUF model that <see cref="KnowledgeOptions.Reranker"/> names, run
/// by that model's runner process (the one that also generates with it, so its weights are loaded once). Passages are
/// cut to <see cref="KnowledgeOptions.RerankMaxPassageTokens"/> tokens.
/// </summary>
public sealed class GgufPassageReranker(ModelManager models, IOptions<KnowledgeOptions> options) : IPassageReranker
{
    private readonly string _model = options.Value.Reranker?.Trim() is { Length: > 0 } name
        ? name
        : throw new InvalidOperationException("Sovereign:Knowledge:Reranker is not set.");

    public string Model => _model;

    public async Task<IReadOnlyList<double>> ScoreAsync(string query, IReadOnlyList<string> passages, CancellationToken cancellationToken)
    {
        try
        {
            var scores = await models.RerankAsync(_model, query, passages, options.Value.RerankMaxPassageTokens, cancellationToken);
            return [.. scores.Scores.Select(s => (double)s)];
        }
        catch (SovereignException e) when (e.Kind == ErrorKind.NotFound && e.Code == "model_not_found")
        {
            // Removed from the store after start-up: say which setting names it rather than blame the caller's request.
            throw new SovereignException(ErrorKind.Unavailable,
                $"The reranker model '{_model}' (Sovereign:Knowledge:Reranker) is no longer in the model store; import it again or remove the setting.",
                code: "reranker_unavailable", inner: e);
        }
    }
}
