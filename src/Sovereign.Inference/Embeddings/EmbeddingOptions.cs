using System.ComponentModel.DataAnnotations;

namespace Sovereign.Inference.Embeddings;

/// <summary>
/// Limits and batching of the embeddings service, bound from <c>Sovereign:Embeddings</c>. Validated at start-up.
/// </summary>
public sealed class EmbeddingOptions
{
    public const string Section = "Sovereign:Embeddings";

    /// <summary>Most inputs in one request (OpenAI's own limit). Beyond it: 400. Default 2048.</summary>
    [Range(1, 100_000)]
    public int MaxInputs { get; set; } = 2048;

    /// <summary>
    /// Most characters in one input, checked before tokenising so a huge string costs nothing. Beyond it: 400
    /// (or, where the caller asked to truncate, the input is cut here first). Default 65,536.
    /// </summary>
    [Range(1, 16 * 1024 * 1024)]
    public int MaxInputCharacters { get; set; } = 65_536;

    /// <summary>Inputs run through the built-in model in one pass; a request with more is split. Default 32.</summary>
    [Range(1, 1024)]
    public int BatchSize { get; set; } = 32;
}
