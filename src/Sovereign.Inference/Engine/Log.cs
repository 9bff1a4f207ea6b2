using LLama.Native;
using Microsoft.Extensions.Logging;

namespace Sovereign.Inference.Engine;

/// <summary>The engine's log messages. No prompt or generated text is ever logged here.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Information,
        Message = "Engine loaded {Model}: {Slots} slots x {ContextSize} tokens, {Threads} threads, {GpuLayers} GPU layers, flash attention {FlashAttention}, chat template {ChatTemplate}")]
    public static partial void Loaded(ILogger logger, string model, int slots, int contextSize, int threads, int gpuLayers, bool flashAttention, string chatTemplate);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning,
        Message = "llama_decode returned {Result} for a batch of {Sequences} sequences and {Tokens} tokens")]
    public static partial void DecodeFailed(ILogger logger, DecodeResult result, int sequences, int tokens);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error, Message = "Engine step failed; the running requests were failed")]
    public static partial void StepFailed(ILogger logger, Exception exception);
}
