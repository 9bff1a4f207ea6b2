using Grpc.Core;
using Sovereign.Core.Embeddings;
using Sovereign.Core.Errors;

namespace Sovereign.Inference.Hosting;

// Embeddings with an imported GGUF model, computed by the model's runner (the same one that generates with it).
public sealed partial class ModelManager
{
    // One RPC carries at most this many inputs and this much text, well under the 64 MiB gRPC message limit both ways
    // (256 vectors of 8,192 floats are 8 MiB).
    private const int EmbedInputsPerCall = 256;
    private const long EmbedCharsPerCall = 4 * 1024 * 1024;

    /// <summary>
    /// Embeds <paramref name="inputs"/> with the imported model <paramref name="model"/>, loading its runner if needed.
    /// A runner lost before it answered is replaced and the call tried once more. Thread-safe.
    /// </summary>
    /// <exception cref="SovereignException">404 model_not_found; 400 from the runner (an input longer than the
    /// context without <paramref name="truncate"/>); 503 when the runner fails.</exception>
    public async Task<EmbeddingBatch> EmbedAsync(string model, IReadOnlyList<string> inputs, bool truncate, CancellationToken cancellationToken = default)
    {
        var manifest = _store.Find(model)
            ?? throw SovereignException.NotFound($"The model '{model}' does not exist. Import it with `sov models import FILE.gguf`.", "model", "model_not_found");

        var vectors = new List<float[]>(inputs.Count);
        var tokens = 0;
        foreach (var part in Parts(inputs))
        {
            var request = new Protocol.EmbedRequest { Truncate = truncate };
            request.Inputs.AddRange(part);
            var reply = await CallEmbedAsync(manifest, request, cancellationToken);
            vectors.AddRange(reply.Embeddings.Select(e => e.Values.ToArray()));
            tokens += reply.PromptTokens;
        }
        return new EmbeddingBatch(manifest.Reference, vectors, tokens);
    }

    private static IEnumerable<List<string>> Parts(IReadOnlyList<string> inputs)
    {
        var part = new List<string>();
        long chars = 0;
        foreach (var input in inputs)
        {
            if (part.Count > 0 && (part.Count == EmbedInputsPerCall || chars + input.Length > EmbedCharsPerCall))
            {
                yield return part;
                part = [];
                chars = 0;
            }
            part.Add(input);
            chars += input.Length;
        }
        if (part.Count > 0) yield return part;
    }

    private async Task<Protocol.EmbedReply> CallEmbedAsync(Models.Store.ModelManifest manifest, Protocol.EmbedRequest request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var runner = await AcquireRunnerAsync(manifest, cancellationToken);
            try
            {
                return await runner.Process.Client.EmbedAsync(request, cancellationToken: cancellationToken);
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
