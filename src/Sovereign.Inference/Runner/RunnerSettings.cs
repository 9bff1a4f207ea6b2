using System.Text.Json;
using Sovereign.Inference.Engine;

namespace Sovereign.Inference.Runner;

/// <summary>What the server tells a runner process at start: the engine settings and where to listen.</summary>
public sealed record RunnerSettings
{
    /// <summary>The environment variable that carries these settings as JSON.</summary>
    public const string EnvironmentVariable = "SOV_RUNNER_SETTINGS";

    public required string SocketPath { get; init; }

    /// <summary>The generation socket, beside the gRPC one (see runner.proto).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string GenerationSocketPath => SocketPath + ".gen";
    public required EngineSettings Engine { get; init; }
    /// <summary>The server's process id; the runner exits when it disappears, so no runner outlives its server.</summary>
    public int ParentProcessId { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this);

    public static RunnerSettings FromJson(string json) =>
        JsonSerializer.Deserialize<RunnerSettings>(json) ?? throw new InvalidOperationException("Empty runner settings.");
}
