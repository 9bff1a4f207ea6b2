using System.Text.Json.Serialization;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Reporting;

/// <summary>The embeddings workload (<see cref="Workloads.EmbeddingsWorkload"/>): texts/s at batch 1, 8 and 32.</summary>
public sealed record EmbeddingsReport
{
    /// <summary>"measured", "failed" (every batch size failed; see errors) or "not_available" (see reason).</summary>
    public required string Status { get; init; }
    public string? Reason { get; init; }
    /// <summary>The embedding model asked for (the built-in all-minilm by default).</summary>
    public string? Model { get; init; }
    /// <summary>Vector length the endpoint returned.</summary>
    public int? Dimensions { get; set; }
    /// <summary>Approximate words per input text.</summary>
    public int? WordsPerText { get; init; }
    public List<EmbeddingsLevel> Levels { get; init; } = [];
    /// <summary>Texts/s at batch 8 ÷ at batch 1: what embedding inputs together buys.</summary>
    [JsonPropertyName("batch_8_over_batch_1")]
    public double? Batch8OverBatch1 { get; set; }
    /// <summary>Texts/s at batch 32 ÷ at batch 1.</summary>
    [JsonPropertyName("batch_32_over_batch_1")]
    public double? Batch32OverBatch1 { get; set; }
    public List<string> Errors { get; init; } = [];

    public static EmbeddingsReport NotAvailable(string reason) => new() { Status = "not_available", Reason = reason };
}

/// <summary>One batch size: requests of <see cref="BatchSize"/> texts each, sent one after another.</summary>
public sealed record EmbeddingsLevel
{
    public required int BatchSize { get; init; }
    public required int Requests { get; init; }
    public required int Texts { get; init; }
    public required double Seconds { get; init; }
    public double? TextsPerSecond { get; init; }
    /// <summary>Input tokens per second, from the responses' usage.prompt_tokens.</summary>
    public double? TokensPerSecond { get; init; }
    /// <summary>Time per request, milliseconds.</summary>
    public Summary? RequestMs { get; init; }
}
