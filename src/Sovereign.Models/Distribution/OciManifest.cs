using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sovereign.Models.Store;

namespace Sovereign.Models.Distribution;

/// <summary>The media types of the OCI distribution API as Ollama's registry uses them.</summary>
public static class OciMediaTypes
{
    /// <summary>The manifest type Ollama's registry serves (Docker image manifest, schema 2).</summary>
    public const string Manifest = "application/vnd.docker.distribution.manifest.v2+json";

    /// <summary>The OCI equivalent, accepted from registries that serve it.</summary>
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";

    public const string Config = "application/vnd.docker.container.image.v1+json";

    /// <summary>The GGUF file itself.</summary>
    public const string Model = "application/vnd.ollama.image.model";

    public const string Template = "application/vnd.ollama.image.template";
    public const string Params = "application/vnd.ollama.image.params";
    public const string License = "application/vnd.ollama.image.license";
    public const string System = "application/vnd.ollama.image.system";
}

/// <summary>A blob as a manifest points at it. Immutable.</summary>
public sealed record OciDescriptor
{
    public string? MediaType { get; init; }
    public string? Digest { get; init; }
    public long Size { get; init; }
}

/// <summary><c>GET /v2/&lt;name&gt;/manifests/&lt;tag&gt;</c>: a config blob and the layers (the model, and in Ollama's registry its template, params, licence). Immutable.</summary>
public sealed record OciManifest
{
    public int SchemaVersion { get; init; }
    public string? MediaType { get; init; }
    public OciDescriptor? Config { get; init; }
    public IReadOnlyList<OciDescriptor>? Layers { get; init; }
}

/// <summary>
/// The config blob Sovereign serves: the fields Ollama's registry writes (so Ollama tools can read it) and, under
/// <c>sovereign</c>, the metadata of our manifest, so that a pull from another Sovereign node keeps the chat template
/// override, licence and the rest. Immutable.
/// </summary>
public sealed record OciModelConfig
{
    [JsonPropertyName("model_format")] public string? ModelFormat { get; init; }
    [JsonPropertyName("model_family")] public string? ModelFamily { get; init; }
    [JsonPropertyName("model_families")] public IReadOnlyList<string>? ModelFamilies { get; init; }
    [JsonPropertyName("file_type")] public string? FileType { get; init; }
    [JsonPropertyName("rootfs")] public OciRootFs? RootFs { get; init; }
    [JsonPropertyName("sovereign")] public SovereignModelMetadata? Sovereign { get; init; }
}

public sealed record OciRootFs
{
    [JsonPropertyName("type")] public string Type { get; init; } = "layers";
    [JsonPropertyName("diff_ids")] public IReadOnlyList<string> DiffIds { get; init; } = [];
}

/// <summary>What of a <see cref="ModelManifest"/> travels with the model from one Sovereign node to another. Immutable.</summary>
public sealed record SovereignModelMetadata
{
    public string? Format { get; init; }
    public string? Architecture { get; init; }
    public long? ParameterCount { get; init; }
    public string? Quantization { get; init; }
    public int? ContextLength { get; init; }
    public bool HasChatTemplate { get; init; }
    public string? ChatTemplateOverride { get; init; }
    public string? License { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }

    public static SovereignModelMetadata From(ModelManifest m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new()
        {
            Format = m.Format,
            Architecture = m.Architecture,
            ParameterCount = m.ParameterCount,
            Quantization = m.Quantization,
            ContextLength = m.ContextLength,
            HasChatTemplate = m.HasChatTemplate,
            ChatTemplateOverride = m.ChatTemplateOverride,
            License = m.License,
            CreatedAt = m.CreatedAt,
        };
    }
}

/// <summary>
/// A store model as the mirror serves it: the manifest and config bytes and their digests. Built the same way every
/// time from the same manifest, so the config's digest is stable and the config need never be written to disk.
/// Immutable.
/// </summary>
public sealed class OciImage
{
    private OciImage(ModelManifest model, byte[] manifestBytes, byte[] configBytes)
    {
        Model = model;
        ManifestBytes = manifestBytes;
        ConfigBytes = configBytes;
        ManifestDigest = Digest(manifestBytes);
        ConfigDigest = Digest(configBytes);
    }

    public ModelManifest Model { get; }
    public byte[] ManifestBytes { get; }
    public string ManifestDigest { get; }
    public byte[] ConfigBytes { get; }
    public string ConfigDigest { get; }

    public static OciImage From(ModelManifest model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = new OciModelConfig
        {
            ModelFormat = model.Format,
            ModelFamily = model.Architecture,
            ModelFamilies = model.Architecture is { } a ? [a] : null,
            FileType = model.Quantization,
            RootFs = new OciRootFs { DiffIds = [model.Digest] },
            Sovereign = SovereignModelMetadata.From(model),
        };
        var configBytes = JsonSerializer.SerializeToUtf8Bytes(config, OciJsonContext.Default.OciModelConfig);
        var manifest = new OciManifest
        {
            SchemaVersion = 2,
            MediaType = OciMediaTypes.Manifest,
            Config = new OciDescriptor { MediaType = OciMediaTypes.Config, Digest = Digest(configBytes), Size = configBytes.Length },
            Layers = [new OciDescriptor { MediaType = OciMediaTypes.Model, Digest = model.Digest, Size = model.Size }],
        };
        return new OciImage(model, JsonSerializer.SerializeToUtf8Bytes(manifest, OciJsonContext.Default.OciManifest), configBytes);
    }

    private static string Digest(byte[] bytes) => OciDigest.Prefix + Convert.ToHexStringLower(SHA256.HashData(bytes));
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(OciManifest))]
[JsonSerializable(typeof(OciModelConfig))]
internal sealed partial class OciJsonContext : JsonSerializerContext;
