using Sovereign.Models.Store;

namespace Sovereign.Cluster.Wire;

/// <summary>
/// What a node advertises: who it is, its capacity, the models in its store, the models it has loaded and how busy
/// each is. Taken fresh on each ask; routing treats it as a hint that may be a moment old. Immutable.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeReport
{
    /// <summary>The node's key: its Orleans silo address (host:port@generation).</summary>
    [Id(0)] public required string Id { get; init; }
    /// <summary>The operator's name for it (<c>SOV_CLUSTER_NODE_NAME</c>, default host-port).</summary>
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public int Cores { get; init; }
    [Id(3)] public int Gpus { get; init; }
    [Id(4)] public long MemoryBudgetBytes { get; init; }
    /// <summary>What its loaded models are charged against the budget.</summary>
    [Id(5)] public long MemoryUsedBytes { get; init; }
    [Id(6)] public StoredModel[] Models { get; init; } = [];
    [Id(7)] public LoadedModel[] Loaded { get; init; } = [];
    /// <summary>Taking no new work (a drain is under way).</summary>
    [Id(8)] public bool Draining { get; init; }
    /// <summary>Generations running or waiting on this node, all models together.</summary>
    [Id(9)] public int InFlight { get; init; }
    [Id(10)] public string Backend { get; init; } = "";
    [Id(11)] public DateTimeOffset At { get; init; }
    /// <summary>
    /// With knowledge in a shared database: how the node searches vectors, "pgvector" (in the database) or "partitioned"
    /// (in memory); null otherwise, or before its first search or start-up decided.
    /// </summary>
    [Id(12)] public string? VectorSearch { get; init; }

    public long MemoryFreeBytes => Math.Max(0, MemoryBudgetBytes - MemoryUsedBytes);
}

/// <summary>A model in a node's store: enough of its manifest for any node's API to accept a request for it.</summary>
[GenerateSerializer, Immutable]
public sealed record StoredModel([property: Id(0)] string Reference, [property: Id(1)] string Digest, [property: Id(2)] long SizeBytes)
{
    [Id(3)] public string? Architecture { get; init; }
    [Id(4)] public long? ParameterCount { get; init; }
    [Id(5)] public string? Quantization { get; init; }
    [Id(6)] public int? ContextLength { get; init; }
    [Id(7)] public bool HasChatTemplate { get; init; }
    [Id(8)] public string? ChatTemplateOverride { get; init; }
    [Id(9)] public string? License { get; init; }
    [Id(10)] public DateTimeOffset CreatedAt { get; init; }

    public static StoredModel From(ModelManifest m) => new(m.Reference, m.Digest, m.Size)
    {
        Architecture = m.Architecture,
        ParameterCount = m.ParameterCount,
        Quantization = m.Quantization,
        ContextLength = m.ContextLength,
        HasChatTemplate = m.HasChatTemplate,
        ChatTemplateOverride = m.ChatTemplateOverride,
        License = m.License,
        CreatedAt = m.CreatedAt,
    };

    /// <summary>The manifest as the node's store has it (its source, a local path there, stays there).</summary>
    public ModelManifest ToManifest()
    {
        var name = ModelName.Parse(Reference);
        return new ModelManifest
        {
            Name = name.Name,
            Tag = name.Tag,
            Digest = Digest,
            Size = SizeBytes,
            Architecture = Architecture,
            ParameterCount = ParameterCount,
            Quantization = Quantization,
            ContextLength = ContextLength,
            HasChatTemplate = HasChatTemplate,
            ChatTemplateOverride = ChatTemplateOverride,
            License = License,
            CreatedAt = CreatedAt,
        };
    }
}

/// <summary>A loaded model and its queue: <see cref="Depth"/> requests running or waiting for one of its <see cref="Slots"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record LoadedModel(
    [property: Id(0)] string Reference,
    [property: Id(1)] string Digest,
    [property: Id(2)] int Slots,
    [property: Id(3)] int Depth,
    [property: Id(4)] long MemoryBytes);
