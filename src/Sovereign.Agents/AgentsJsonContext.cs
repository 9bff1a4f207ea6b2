using System.Text.Json.Serialization;
using Sovereign.Agents.Definitions;
using Sovereign.Agents.Runs;

namespace Sovereign.Agents;

/// <summary>Source-generated JSON for what the agents area stores and serves, snake_case as the rest of the API.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(AgentDefinition))]
[JsonSerializable(typeof(RunTraceStep))]
public sealed partial class AgentsJsonContext : JsonSerializerContext;
