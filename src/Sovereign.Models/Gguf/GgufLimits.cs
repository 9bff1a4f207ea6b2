namespace Sovereign.Models.Gguf;

/// <summary>
/// Upper bounds the reader enforces before it allocates anything, so that a hostile or corrupt header cannot make
/// it allocate gigabytes or loop for hours. Each is far above what real models use.
/// </summary>
public static class GgufLimits
{
    public const long MaxTensors = 1_000_000;
    public const long MaxMetadataPairs = 100_000;
    public const int MaxKeyBytes = 1 << 20;
    public const int MaxStringValueBytes = 64 << 20;

    /// <summary>ggml's GGML_MAX_NAME is 64 including the terminating NUL; llama.cpp refuses longer names.</summary>
    public const int MaxTensorNameBytes = 63;

    /// <summary>ggml's GGML_MAX_DIMS.</summary>
    public const int MaxDimensions = 4;

    public const long MaxArrayLength = int.MaxValue;
    public const int MaxArrayDepth = 8;

    /// <summary>Metadata and tensor table together: what the reader may hold in memory. Real models stay below 20 MiB, mostly vocabulary.</summary>
    public const long MaxHeaderBytes = 256L << 20;
}
