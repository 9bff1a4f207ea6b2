using Grpc.Core;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Inference.Engine;
using Sovereign.Inference.Protocol;
using ProtoChatMessage = Sovereign.Inference.Protocol.ChatMessage;

namespace Sovereign.Inference.Runner;

/// <summary>The gRPC face of one runner: adapts <see cref="LlamaEngine"/> to the runner contract.</summary>
internal sealed class RunnerService(LlamaEngine engine, RunnerSettings settings) : Protocol.Runner.RunnerBase
{
    public override async Task Generate(GenerateRequest request, IServerStreamWriter<GenerateEvent> responseStream, ServerCallContext context)
    {
        var generation = ToGeneration(request);
        System.Threading.Channels.ChannelReader<GenerationEvent> events;
        try
        {
            // Submit validates and tokenises on this thread; its refusals become the call's status.
            events = engine.Submit(generation, context.CancellationToken);
        }
        catch (SovereignException e)
        {
            throw RunnerErrors.ToRpc(e);
        }

        // Headers now tell the server the request was accepted; refusals above arrive as a trailers-only status.
        await context.WriteResponseHeadersAsync([]);

        // Text that queued up while the last message was being written goes out as one message: on a small model the
        // engine makes tokens faster than one gRPC write each, and every write it saves is CPU the decode gets back.
        while (await events.WaitToReadAsync(context.CancellationToken))
        {
            while (events.TryRead(out var e))
            {
                if (e is GenerationEvent.TextDelta delta)
                {
                    var (text, tokens) = (new System.Text.StringBuilder(delta.Text), delta.Tokens);
                    GenerationEvent? after = null;
                    while (events.TryRead(out var more))
                    {
                        if (more is GenerationEvent.TextDelta d) { text.Append(d.Text); tokens += d.Tokens; }
                        else { after = more; break; }
                    }
                    await responseStream.WriteAsync(new GenerateEvent { Delta = new Delta { Text = text.ToString(), Tokens = tokens } }, context.CancellationToken);
                    if (after is null) continue;
                    e = after;
                }
                await responseStream.WriteAsync(ToProto(e), context.CancellationToken);
            }
        }
    }

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

    private static GenerationRequest ToGeneration(GenerateRequest r)
    {
        var s = r.Sampling ?? new Sampling();
        return new GenerationRequest
        {
            Id = r.Id,
            Model = "",
            Prompt = r.Messages.Count == 0 ? r.Prompt : null,
            Messages = r.Messages.Count == 0 ? null : r.Messages.Select(m => new Core.Generation.ChatMessage(m.Role, m.Content)
            {
                ContentIsMarkup = m.ContentIsMarkup,
                Images = m.Images.Count == 0 ? null : [.. m.Images.Select(i => i.Memory)],
            }).ToList(),
            MaxTokens = r.MaxTokens > 0 ? r.MaxTokens : null,
            ClampMaxTokens = r.ClampMaxTokens,
            ContextLimit = r.ContextLimit > 0 ? r.ContextLimit : null,
            Stop = r.Stop.ToList(),
            IgnoreEos = r.IgnoreEos,
            Grammar = r.Grammar.Length > 0 ? r.Grammar : null,
            GrammarRoot = r.GrammarRoot.Length > 0 ? r.GrammarRoot : null,
            TenantId = r.TenantId.Length > 0 ? r.TenantId : null,
            TenantWeight = Math.Max(1, r.TenantWeight),
            Sampling = new SamplingParameters
            {
                Temperature = s.Temperature,
                TopP = s.TopP,
                TopK = s.TopK,
                MinP = s.MinP,
                Seed = s.HasSeed ? s.Seed : null,
                PresencePenalty = s.PresencePenalty,
                FrequencyPenalty = s.FrequencyPenalty,
                RepeatPenalty = s.RepeatPenalty,
            },
        };
    }

    private static GenerateEvent ToProto(GenerationEvent e) => e switch
    {
        GenerationEvent.Started s => new GenerateEvent { Started = new Started { PromptTokens = s.PromptTokens } },
        GenerationEvent.TextDelta d => new GenerateEvent { Delta = new Delta { Text = d.Text, Tokens = d.Tokens } },
        GenerationEvent.Finished f => new GenerateEvent
        {
            Finished = new Finished
            {
                Reason = f.Reason == FinishReason.Length ? "length" : "stop",
                PromptTokens = f.Usage.PromptTokens,
                CompletionTokens = f.Usage.CompletionTokens,
                PromptMs = f.Usage.PromptTime.TotalMilliseconds,
                DecodeMs = f.Usage.DecodeTime.TotalMilliseconds,
            },
        },
        GenerationEvent.Failed x => new GenerateEvent { Error = new Error { Code = x.Code ?? x.Kind.ToString(), Message = x.Message } },
        _ => throw new InvalidOperationException($"Unknown event {e.GetType().Name}."),
    };

    /// <summary>Maps the server's request onto the wire.</summary>
    internal static GenerateRequest ToProto(GenerationRequest r)
    {
        var p = r.Sampling;
        var sampling = new Sampling
        {
            Temperature = p.Temperature,
            TopP = p.TopP,
            TopK = p.TopK,
            MinP = p.MinP,
            PresencePenalty = p.PresencePenalty,
            FrequencyPenalty = p.FrequencyPenalty,
            RepeatPenalty = p.RepeatPenalty,
        };
        if (p.Seed is { } seed) sampling.Seed = seed;
        var proto = new GenerateRequest
        {
            Id = r.Id,
            Prompt = r.Prompt ?? "",
            MaxTokens = r.MaxTokens ?? 0,
            ClampMaxTokens = r.ClampMaxTokens,
            ContextLimit = r.ContextLimit ?? 0,
            Sampling = sampling,
            IgnoreEos = r.IgnoreEos,
            Grammar = r.Grammar ?? "",
            GrammarRoot = r.GrammarRoot ?? "",
            TenantId = r.TenantId ?? "",
            TenantWeight = r.TenantWeight,
        };
        proto.Stop.AddRange(r.Stop);
        if (r.Messages is not null)
        {
            foreach (var m in r.Messages)
            {
                var message = new ProtoChatMessage { Role = m.Role, Content = m.Content, ContentIsMarkup = m.ContentIsMarkup };
                if (m.Images is { } images) message.Images.AddRange(images.Select(i => Google.Protobuf.ByteString.CopyFrom(i.Span)));
                proto.Messages.Add(message);
            }
        }
        return proto;
    }
}
