using System.Threading.Channels;
using LLama.Native;
using Sovereign.Core.Generation;

namespace Sovereign.Inference.Engine;

/// <summary>
/// One accepted request, from <see cref="LlamaEngine.Submit"/> to its last event. The immutable part is filled in on the
/// caller's thread; everything below "loop state" is touched only by the engine loop. The cancellation flag is the one
/// field both sides use.
/// </summary>
internal sealed class EngineRequest
{
    private int _cancelled;

    public EngineRequest(string id, LLamaToken[] prompt, int maxCompletion, IReadOnlyList<string> stop, SamplingParameters sampling, bool ignoreEos,
        ChannelWriter<GenerationEvent> output, string? grammar = null, string grammarRoot = "root")
    {
        Grammar = grammar;
        GrammarRoot = grammarRoot;
        Id = id;
        Prompt = prompt;
        MaxCompletion = maxCompletion;
        Sampling = sampling;
        IgnoreEos = ignoreEos;
        Stops = new StopStringMatcher(stop);
        Output = output;
    }

    public string Id { get; }
    public LLamaToken[] Prompt { get; }
    /// <summary>Most tokens to sample: max_tokens, or what is left of the slot's context.</summary>
    public int MaxCompletion { get; }
    public SamplingParameters Sampling { get; }
    public bool IgnoreEos { get; }
    /// <summary>GBNF the output must match (already validated by llama.cpp in Submit); null for none.</summary>
    public string? Grammar { get; }
    public string GrammarRoot { get; }
    /// <summary>
    /// Where the loop writes the request's events, on its own thread: a channel the caller reads, or a writer that
    /// sends them on at once (the runner's event socket), which saves a thread hop per token.
    /// </summary>
    public ChannelWriter<GenerationEvent> Output { get; }

    /// <summary>The tenant the request is for, and its share under load (<see cref="FairQueue"/>).</summary>
    public string TenantId { get; init; } = "default";
    public int TenantWeight { get; init; } = 1;
    public CancellationTokenRegistration Registration { get; set; }

    public bool IsCancelled => Volatile.Read(ref _cancelled) != 0;

    /// <summary>Sets the flag; true the first time.</summary>
    public bool MarkCancelled() => Interlocked.Exchange(ref _cancelled, 1) == 0;

    // ---- loop state ----

    /// <summary>The slot (= sequence id) while admitted; -1 while waiting or after release.</summary>
    public int Slot = -1;
    /// <summary>Its fair-queuing finish tag, given when the loop takes it from the queue.</summary>
    public double FinishTag;
    /// <summary>Tokens of this sequence in the KV cache; the position of the next token decoded.</summary>
    public int Past;
    /// <summary>Prompt tokens already decoded.</summary>
    public int Prefilled;
    /// <summary>Tokens sampled so far (completion tokens).</summary>
    public int Completion;
    /// <summary>The last sampled token, decoded at <see cref="Past"/> in the next step.</summary>
    public LLamaToken NextToken;
    /// <summary>Index in this step's batch whose logits this sequence samples after the decode; -1 for none.</summary>
    public int LogitIndex = -1;
    /// <summary>Sampled tokens whose text has not yet gone out in a delta.</summary>
    public int UndeliveredTokens;
    public bool Done;
    public long AdmittedAt;
    public long FirstTokenAt;
    public SafeLLamaSamplerChainHandle? Sampler;
    public readonly Utf8Assembler Text = new();
    public StopStringMatcher Stops { get; }

    public int PromptLeft => Prompt.Length - Prefilled;

    /// <summary>
    /// A prompt with images: its text pieces and images in order, prefilled all at once when the request gets its slot
    /// (<see cref="LlamaEngine"/>'s PrefillWithImages) instead of in chunks. Null for a text-only prompt. Then
    /// <see cref="Prompt"/> only counts (text tokens, and a 0 for each image token) and <see cref="PenaltyPrompt"/> holds
    /// the text tokens.
    /// </summary>
    public IReadOnlyList<PromptPart>? Parts { get; init; }

    /// <summary>The tokens that prime the repetition penalties: the prompt, or its text tokens when it has images.</summary>
    public LLamaToken[]? PenaltyPrompt { get; init; }

    /// <summary>Frees the images' native chunks; any thread, once the request is done with them.</summary>
    public void DisposeParts()
    {
        if (Parts is null) return;
        foreach (var part in Parts) part.Dispose();
    }
}

/// <summary>
/// One piece of a prompt with images: text tokens, or one image chunk (<paramref name="Chunk"/> of the multimodal
/// library's chunk list <paramref name="Image"/>) worth <paramref name="ImageTokens"/> positions.
/// </summary>
internal sealed record PromptPart(LLamaToken[]? Tokens, SafeMtmdInputChunks? Image, int ImageTokens, ulong Chunk)
{
    /// <summary>Whether this part disposes <see cref="Image"/> (several parts may share one list).</summary>
    public bool OwnsImage { get; init; }

    public void Dispose()
    {
        if (OwnsImage) Image?.Dispose();
    }
}
