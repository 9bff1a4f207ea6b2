namespace Sovereign.Inference.Engine;

/// <summary>
/// How one <see cref="LlamaEngine"/> runs its model. Read once by <see cref="LlamaEngine.Load"/>; later changes have no
/// effect. Not thread-safe while being filled in; treat it as immutable once handed to the engine.
/// </summary>
public sealed class EngineSettings
{
    /// <summary>Path of the GGUF file to load. Required.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>Concurrent sequences (continuous-batching slots), each with its own sequence id. Default 8.</summary>
    public int Slots { get; set; } = 8;

    /// <summary>Context tokens per slot (prompt plus completion). Default 2048; capped at the model's training context.</summary>
    public int ContextSize { get; set; } = 2048;

    /// <summary>
    /// Requests that may wait for a slot once every slot is busy; beyond that, <see cref="LlamaEngine.Submit"/> answers
    /// <see cref="Core.Errors.ErrorKind.RateLimited"/>. Default 64.
    /// </summary>
    public int QueueLimit { get; set; } = 64;

    /// <summary>Most prompt tokens (over all sequences together) prefilled in one engine step. Default 256.</summary>
    public int PrefillChunk { get; set; } = 256;

    /// <summary>
    /// About how long a step that prefills may take while other streams are generating: the longest pause a long prompt
    /// puts into their output. The engine learns what a prompt token costs and prefills that many fewer tokens per step
    /// (at least 64, at most <see cref="PrefillChunk"/>). Zero (the default): always <see cref="PrefillChunk"/>.
    /// <para>
    /// Off by default because on a CPU smaller chunks prefill less efficiently: on two cores with a ~400M model and 7
    /// streams generating, 500 ms cut their longest pauses during a 2,000-token prompt from 2.9 s to 1.5 s, but that
    /// prompt's first token came 59% later and short newcomers waited about twice as long. On a GPU a chunk costs too
    /// little for the target to bite.
    /// </para>
    /// </summary>
    public TimeSpan PrefillStallTarget { get; set; }

    /// <summary>CPU threads for decoding; 0 = the number of cores. Default 0.</summary>
    public int Threads { get; set; }

    /// <summary>Layers offloaded to a GPU when the native backend has one. Default 0 (CPU only).</summary>
    public int GpuLayers { get; set; }

    /// <summary>Flash attention. Default off: on CPU it slows decoding.</summary>
    public bool FlashAttention { get; set; }

    /// <summary>
    /// A llama.cpp built-in chat template name (chatml, llama3, mistral-v7, …) used instead of the model's own
    /// template. Default null: use the template in the model's metadata, if llama.cpp recognises it.
    /// </summary>
    public string? ChatTemplateOverride { get; set; }

    /// <summary>
    /// A vision projector (mmproj GGUF) loaded beside the model through llama.cpp's multimodal library, so chat messages
    /// may carry images. Default null: no images.
    /// </summary>
    public string? ProjectorPath { get; set; }

    /// <summary>Every invalid setting, each message naming the setting and its value; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ModelPath))
            errors.Add("ModelPath is required.");
        if (Slots is < 1 or > 256)
            errors.Add($"Slots must be between 1 and 256, got {Slots}.");
        if (ContextSize is < 8 or > 1_048_576)
            errors.Add($"ContextSize must be between 8 and 1048576, got {ContextSize}.");
        if (QueueLimit is < 0 or > 100_000)
            errors.Add($"QueueLimit must be between 0 and 100000, got {QueueLimit}.");
        if (PrefillChunk is < 1 or > 65_536)
            errors.Add($"PrefillChunk must be between 1 and 65536, got {PrefillChunk}.");
        if (PrefillStallTarget < TimeSpan.Zero || PrefillStallTarget > TimeSpan.FromMinutes(10))
            errors.Add($"PrefillStallTarget must be between 00:00:00 and 00:10:00, got {PrefillStallTarget}.");
        if (Threads is < 0 or > 1024)
            errors.Add($"Threads must be between 0 and 1024, got {Threads}.");
        if (GpuLayers is < 0 or > 1000)
            errors.Add($"GpuLayers must be between 0 and 1000, got {GpuLayers}.");
        if (ChatTemplateOverride is { } t && string.IsNullOrWhiteSpace(t))
            errors.Add("ChatTemplateOverride must be a template name or null, got an empty string.");
        return errors;
    }
}
