using Sovereign.Inference.Engine;
using Sovereign.Knowledge.Retrieval;

namespace Sovereign.Knowledge.Tests.Retrieval;

/// <summary>
/// The real llama.cpp engine on stories260K as an <see cref="IPassageReranker"/>, in this process (the server's
/// <see cref="GgufPassageReranker"/> calls the same engine method through the model's runner). Records every call: what
/// it was asked and what it answered. stories260K's scores carry no meaning; they are real and deterministic.
/// </summary>
internal sealed class EngineReranker : IPassageReranker, IDisposable
{
    private readonly LlamaEngine _engine;
    private readonly List<RerankCall> _calls = [];

    public EngineReranker()
    {
        var path = Path.GetFullPath(Path.Combine(RepositoryRoot(), "..", "shared", "models", "stories260K.gguf"));
        _engine = LlamaEngine.Load(new EngineSettings { ModelPath = path, Slots = 1, ContextSize = 512, Threads = 1 });
    }

    public string Model => "stories260K";

    public IReadOnlyList<RerankCall> Calls
    {
        get
        {
            lock (_calls) return [.. _calls];
        }
    }

    public Task<IReadOnlyList<double>> ScoreAsync(string query, IReadOnlyList<string> passages, CancellationToken cancellationToken)
    {
        var result = _engine.Rerank(query, passages, maxDocumentTokens: 128, cancellationToken);
        IReadOnlyList<double> scores = [.. result.Scores.Select(s => (double)s)];
        lock (_calls) _calls.Add(new RerankCall(query, [.. passages], scores));
        return Task.FromResult(scores);
    }

    public void Dispose() => _engine.Dispose();

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sovereign.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException($"No Sovereign.slnx above {AppContext.BaseDirectory}.");
    }
}

internal sealed record RerankCall(string Query, IReadOnlyList<string> Passages, IReadOnlyList<double> Scores);
