using System.Text.Json.Serialization;

namespace Sovereign.Models.Store;

[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
