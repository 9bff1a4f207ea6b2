using Grpc.Core;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Inference.Engine;
using Sovereign.Inference.Protocol;
using ProtoChatMessage = Sovereign.Inference.Protocol.ChatMessage;

namespace Sovereign.Inference.Runner;

/// <summary>
/// The gRPC face of one runner: adapts <see cref="LlamaEngine"/> to the runner contract. Generation has a socket of its
/// own (<see cref="GenerationStreamServer"/>).
/// </summary>
internal sealed class RunnerService(LlamaEngine engine, RunnerSettings settings) : Protocol.Runner.RunnerBase
{
    public override Task<TokenizeReply> Tokenize(TokenizeRequest request, ServerCallContext context)
    {
        var reply = new TokenizeReply();
        reply.Tokens.AddRange(engine.Tokenize(request.Text, request.AddBos));
        return Task.FromResult(reply);
    }

    public override async Task<EmbedReply> Embed(EmbedRequest request, ServerCallContext context)
    {
        EmbeddingResult result;
        try
        {
            // The embedder blocks while it decodes; keep that off the gRPC thread.
            result = await Task.Run(() => engine.Embed(request.Inputs, request.Truncate, context.CancellationToken), context.CancellationToken);
        }
        catch (SovereignException e)
        {
            throw RunnerErrors.ToRpc(e);
        }
        var reply = new EmbedReply { PromptTokens = result.PromptTokens };
        foreach (var vector in result.Vectors)
        {
            var embedding = new Embedding();
            embedding.Values.AddRange(vector);
            reply.Embeddings.Add(embedding);
        }
        return reply;
    }

    public override async Task<RerankReply> Rerank(RerankRequest request, ServerCallContext context)
    {
        RerankResult result;
        try
        {
            // The reranker blocks while it decodes; keep that off the gRPC thread.
            result = await Task.Run(() => engine.Rerank(request.Query, request.Documents, Math.Max(1, request.MaxDocumentTokens), context.CancellationToken),
                context.CancellationToken);
        }
        catch (SovereignException e)
        {
            throw RunnerErrors.ToRpc(e);
        }
        var reply = new RerankReply { PromptTokens = result.PromptTokens, Method = result.Method };
        reply.Scores.AddRange(result.Scores);
        return reply;
    }

    public override Task<StatusReply> Status(StatusRequest request, ServerCallContext context)
    {
        var stats = engine.Stats;
        return Task.FromResult(new StatusReply
        {
            ModelPath = settings.Engine.ModelPath,
            Slots = engine.Slots,
            Active = stats.Active,
            Queued = stats.Queued,
            ContextSize = engine.ContextSize,
            NativeBackend = engine.NativeBackend,
            TrainContext = engine.TrainContext,
            HasChatTemplate = engine.HasChatTemplate,
        });
    }
}
