using System.Text.Json.Serialization;
using Sovereign.Core.Generation;
using Sovereign.Server.Admin;
using Sovereign.Server.Errors;
using Sovereign.Server.Health;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server;

/// <summary>
/// Source-generated JSON for every type the server reads or writes: snake_case names as OpenAI spells them, nulls
/// omitted unless a property says otherwise (OpenAI always sends <c>finish_reason</c>, <c>logprobs</c>, <c>param</c>
/// and <c>code</c>, null or not).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OpenAiErrorResponse))]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(TextCompletion))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelObject))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(ApiKeyObject))]
[JsonSerializable(typeof(CreatedApiKeyObject))]
[JsonSerializable(typeof(ApiKeyList))]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(LoadedModelInfo))]
internal sealed partial class ServerJsonContext : JsonSerializerContext;
