using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Inference.Protocol;
using ProtoChatMessage = Sovereign.Inference.Protocol.ChatMessage;

namespace Sovereign.Inference.Runner;

/// <summary>Maps generation requests and events between the engine's types and the runner contract's messages.</summary>
internal static class RunnerProtocol
{
    /// <summary>Maps the wire request onto the engine's.</summary>
    public static GenerationRequest ToGeneration(GenerateRequest r)
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

    public static GenerateEvent ToProto(GenerationEvent e) => e switch
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
    public static GenerateRequest ToProto(GenerationRequest r)
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

    /// <summary>Maps a wire event back onto the engine's (the server's side).</summary>
    public static GenerationEvent FromProto(GenerateEvent e) => e.KindCase switch
    {
        GenerateEvent.KindOneofCase.Started => new GenerationEvent.Started(e.Started.PromptTokens),
        GenerateEvent.KindOneofCase.Delta => new GenerationEvent.TextDelta(e.Delta.Text, e.Delta.Tokens),
        GenerateEvent.KindOneofCase.Finished => new GenerationEvent.Finished(
            e.Finished.Reason == "length" ? FinishReason.Length : FinishReason.Stop,
            new GenerationUsage(e.Finished.PromptTokens, e.Finished.CompletionTokens,
                TimeSpan.FromMilliseconds(e.Finished.PromptMs), TimeSpan.FromMilliseconds(e.Finished.DecodeMs))),
        GenerateEvent.KindOneofCase.Error => new GenerationEvent.Failed(ErrorKind.Internal, e.Error.Message, e.Error.Code),
        _ => new GenerationEvent.Failed(ErrorKind.Internal, "The runner sent an event this server does not understand.", "runner_protocol"),
    };
}
