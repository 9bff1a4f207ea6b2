namespace Sovereign.Inference.Engine;

/// <summary>A snapshot of an engine's load and lifetime counters. Immutable.</summary>
/// <param name="Active">Requests holding a slot (prefilling or generating).</param>
/// <param name="Queued">Requests accepted but still waiting for a slot.</param>
/// <param name="TokensGenerated">Tokens sampled since the engine was loaded, over all requests.</param>
/// <param name="PromptTokensProcessed">Prompt tokens decoded since the engine was loaded.</param>
/// <param name="Steps">Engine steps (one llama_decode each) since the engine was loaded.</param>
public sealed record EngineStats(int Active, int Queued, long TokensGenerated, long PromptTokensProcessed, long Steps);
