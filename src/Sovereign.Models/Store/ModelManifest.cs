namespace Sovereign.Models.Store;

/// <summary>
/// What the store knows of one named model: written as JSON at <c>models/manifests/&lt;name&gt;/&lt;tag&gt;</c>.
/// The blob it points at is content-addressed and read-only. Immutable.
/// </summary>
public sealed record ModelManifest
{
    public required string Name { get; init; }
    public required string Tag { get; init; }
    /// <summary><c>sha256:&lt;64 hex&gt;</c></summary>
    public required string Digest { get; init; }
    public required long Size { get; init; }
    public string Format { get; init; } = "gguf";
    public string? Architecture { get; init; }
    public long? ParameterCount { get; init; }
    /// <summary>e.g. Q8_0, F16, Q4_K_M (from general.file_type, else the dominant tensor type).</summary>
    public string? Quantization { get; init; }
    /// <summary>The model's training context length (&lt;arch&gt;.context_length).</summary>
    public int? ContextLength { get; init; }
    /// <summary>Whether the GGUF carries tokenizer.chat_template.</summary>
    public bool HasChatTemplate { get; init; }
    /// <summary>A template name set at import or later (chatml, llama3, mistral, …); wins over the model's own.</summary>
    public string? ChatTemplateOverride { get; init; }
    public string? License { get; init; }
    /// <summary>
    /// The vision projector ("mmproj" GGUF, llama.cpp's CLIP format) imported with the model, by digest: images in chat
    /// then go to the model through llama.cpp's multimodal library. Null: images are read by OCR instead.
    /// </summary>
    public string? ProjectorDigest { get; init; }
    public long? ProjectorSize { get; init; }
    /// <summary>Where it came from: <c>file:/abs/path</c> or a mirror address.</summary>
    public string? Source { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    public string Reference => $"{Name}:{Tag}";
}
