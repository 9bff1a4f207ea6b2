using Sovereign.Core.Generation;

namespace Sovereign.Cluster.Wire;

/// <summary>
/// A <see cref="GenerationRequest"/> as it travels between nodes. Only Orleans' generated serializer reads it: no
/// general-purpose deserializer ever sees bytes from another node. Immutable.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeRequest
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string Model { get; init; }
    [Id(2)] public string? Prompt { get; init; }
    [Id(3)] public NodeChatMessage[]? Messages { get; init; }
    [Id(4)] public int? MaxTokens { get; init; }
    [Id(5)] public string[] Stop { get; init; } = [];
    [Id(6)] public required NodeSampling Sampling { get; init; }
    [Id(7)] public bool IgnoreEos { get; init; }
    [Id(8)] public TimeSpan? KeepAlive { get; init; }
    [Id(9)] public string? TenantId { get; init; }
    [Id(10)] public int TenantWeight { get; init; } = 1;
    [Id(11)] public string? Grammar { get; init; }
    [Id(12)] public string? GrammarRoot { get; init; }
    /// <summary>A model the node must first copy from <see cref="CopyFrom"/> (a node id), because it does not store it yet.</summary>
    [Id(13)] public StoredModel? CopyModel { get; init; }
    [Id(14)] public string? CopyFrom { get; init; }
    [Id(15)] public bool ClampMaxTokens { get; init; }
    [Id(16)] public int? ContextLimit { get; init; }

    public static NodeRequest From(GenerationRequest request) => new()
    {
        Id = request.Id,
        Model = request.Model,
        Prompt = request.Prompt,
        Messages = request.Messages?.Select(m => new NodeChatMessage(m.Role, m.Content, m.ContentIsMarkup) { Images = m.Images?.Select(i => i.ToArray()).ToArray() }).ToArray(),
        MaxTokens = request.MaxTokens,
        ClampMaxTokens = request.ClampMaxTokens,
        ContextLimit = request.ContextLimit,
        Stop = [.. request.Stop],
        Sampling = NodeSampling.From(request.Sampling),
        IgnoreEos = request.IgnoreEos,
        KeepAlive = request.KeepAlive,
        TenantId = request.TenantId,
        TenantWeight = request.TenantWeight,
        Grammar = request.Grammar,
        GrammarRoot = request.GrammarRoot,
    };

    public GenerationRequest ToRequest() => new()
    {
        Id = Id,
        Model = Model,
        Prompt = Prompt,
        Messages = Messages?.Select(m => new ChatMessage(m.Role, m.Content)
        {
            ContentIsMarkup = m.ContentIsMarkup,
            Images = m.Images is { Length: > 0 } images ? [.. images.Select(i => (ReadOnlyMemory<byte>)i)] : null,
        }).ToArray(),
        MaxTokens = MaxTokens,
        ClampMaxTokens = ClampMaxTokens,
        ContextLimit = ContextLimit,
        Stop = Stop,
        Sampling = Sampling.ToParameters(),
        IgnoreEos = IgnoreEos,
        KeepAlive = KeepAlive,
        TenantId = TenantId,
        TenantWeight = TenantWeight,
        Grammar = Grammar,
        GrammarRoot = GrammarRoot,
    };
}

[GenerateSerializer, Immutable]
public sealed record NodeChatMessage([property: Id(0)] string Role, [property: Id(1)] string Content, [property: Id(2)] bool ContentIsMarkup)
{
    /// <summary>Encoded images of the message, for a model with a vision projector.</summary>
    [Id(3)] public byte[][]? Images { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record NodeSampling
{
    [Id(0)] public float Temperature { get; init; }
    [Id(1)] public float TopP { get; init; }
    [Id(2)] public int TopK { get; init; }
    [Id(3)] public float MinP { get; init; }
    [Id(4)] public uint? Seed { get; init; }
    [Id(5)] public float PresencePenalty { get; init; }
    [Id(6)] public float FrequencyPenalty { get; init; }
    [Id(7)] public float RepeatPenalty { get; init; }

    public static NodeSampling From(SamplingParameters p) => new()
    {
        Temperature = p.Temperature,
        TopP = p.TopP,
        TopK = p.TopK,
        MinP = p.MinP,
        Seed = p.Seed,
        PresencePenalty = p.PresencePenalty,
        FrequencyPenalty = p.FrequencyPenalty,
        RepeatPenalty = p.RepeatPenalty,
    };

    public SamplingParameters ToParameters() => new()
    {
        Temperature = Temperature,
        TopP = TopP,
        TopK = TopK,
        MinP = MinP,
        Seed = Seed,
        PresencePenalty = PresencePenalty,
        FrequencyPenalty = FrequencyPenalty,
        RepeatPenalty = RepeatPenalty,
    };
}
