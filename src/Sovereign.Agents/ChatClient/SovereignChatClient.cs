using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Sovereign.Agents.ToolCalling;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Inference.Grammars;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using CoreChatMessage = Sovereign.Core.Generation.ChatMessage;

namespace Sovereign.Agents.ChatClient;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over Sovereign's engine, in-process: .NET code in the platform
/// (agents, apps) uses the abstractions it already knows. Options map to the engine's (temperature, top-p/k, seed,
/// stop sequences, max output tokens); <see cref="ChatOptions.ResponseFormat"/> JSON and JSON-schema formats become
/// grammars; tools (<see cref="AIFunctionDeclaration"/>) use the model family's tool-call format, and
/// <see cref="ChatToolMode.RequireAny"/> or a required function force a valid call by grammar. Function calls come
/// back as <see cref="FunctionCallContent"/>; <see cref="FunctionResultContent"/> in the history goes back to the model
/// framed as data. Thread-safe: the client holds no per-call state.
/// </summary>
public sealed class SovereignChatClient : IChatClient
{
    private readonly IInferenceService _inference;
    private readonly string _model;
    private readonly ToolCallFormat _format;
    private readonly ChatClientMetadata _metadata;

    /// <param name="inference">The engine (the server's model manager, or any other implementation).</param>
    /// <param name="model">The model used when <see cref="ChatOptions.ModelId"/> is not set.</param>
    /// <param name="chatTemplate">The model's chat template name (chatml, llama3, mistral, …), which picks the tool-call format.</param>
    public SovereignChatClient(IInferenceService inference, string model, string? chatTemplate = null)
    {
        ArgumentNullException.ThrowIfNull(inference);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        _inference = inference;
        _model = model;
        _format = ToolCallFormats.ForTemplate(chatTemplate);
        _metadata = new ChatClientMetadata("sovereign", null, model);
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (request, plan) = Map(messages, options);
        var text = new StringBuilder();
        GenerationEvent.Finished? finished = null;
        await foreach (var e in _inference.GenerateAsync(request, cancellationToken).WithCancellation(cancellationToken))
        {
            switch (e)
            {
                case GenerationEvent.TextDelta d: text.Append(d.Text); break;
                case GenerationEvent.Finished f: finished = f; break;
                case GenerationEvent.Failed x: throw new SovereignException(x.Kind, x.Message, code: x.Code);
            }
        }
        // The engine ends a cancelled stream quietly; the caller asked to cancel, so it gets the cancellation.
        cancellationToken.ThrowIfCancellationRequested();
        if (finished is null)
            throw new SovereignException(ErrorKind.Internal, "The engine ended the generation without a result.", code: "engine_error");

        var (contents, finish) = Interpret(text.ToString(), finished.Reason, plan);
        return new ChatResponse(new AiChatMessage(ChatRole.Assistant, contents))
        {
            ResponseId = request.Id,
            ModelId = request.Model,
            FinishReason = finish,
            Usage = Usage(finished.Usage),
            CreatedAt = DateTimeOffset.UtcNow,
        };
    }

    /// <summary>
    /// Streams text as it is generated. With tools, text that may be a call is held until the generation ends and then
    /// sent as <see cref="FunctionCallContent"/> (or as text when it was not a call).
    /// </summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (request, plan) = Map(messages, options);
        var watching = plan is { Tools.Count: > 0 } p && p.Choice is not ToolChoice.NoneChoice;
        var held = new StringBuilder();
        await foreach (var e in _inference.GenerateAsync(request, cancellationToken).WithCancellation(cancellationToken))
        {
            switch (e)
            {
                case GenerationEvent.TextDelta d when !watching:
                    yield return Update(request, [new TextContent(d.Text)]);
                    break;
                case GenerationEvent.TextDelta d:
                    held.Append(d.Text);
                    break;
                case GenerationEvent.Failed x:
                    throw new SovereignException(x.Kind, x.Message, code: x.Code);
                case GenerationEvent.Finished f:
                    var (contents, finish) = watching ? Interpret(held.ToString(), f.Reason, plan) : ([], Finish(f.Reason));
                    contents.Add(new UsageContent(Usage(f.Usage)));
                    var last = Update(request, contents);
                    last.FinishReason = finish;
                    yield return last;
                    yield break;
            }
        }
        // No finish: cancelled (the engine ends those quietly) or the stream broke; either way not a complete answer.
        cancellationToken.ThrowIfCancellationRequested();
        throw new SovereignException(ErrorKind.Internal, "The engine ended the generation without a result.", code: "engine_error");
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    public void Dispose()
    {
        // Nothing to free: the engine belongs to whoever gave it.
    }

    // ---- mapping ----

    private (GenerationRequest Request, ToolCallingPlan? Plan) Map(IEnumerable<AiChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);

        // :: Step 1: the turns, with calls and results as tool calling sees them.
        var turns = new List<ChatTurn>();
        if (options?.Instructions is { Length: > 0 } instructions)
            turns.Add(new ChatTurn("system", instructions));
        foreach (var m in messages)
        {
            var text = string.Concat(m.Contents.OfType<TextContent>().Select(t => t.Text));
            var calls = m.Contents.OfType<FunctionCallContent>()
                .Select(c => new ToolCall(c.CallId, c.Name, JsonSerializer.Serialize(c.Arguments ?? new Dictionary<string, object?>(), AgentsJson.Options))).ToList();
            var results = m.Contents.OfType<FunctionResultContent>().ToList();
            if (results.Count > 0)
            {
                foreach (var r in results)
                    turns.Add(new ChatTurn("tool", r.Result is string s ? s : JsonSerializer.Serialize(r.Result, AgentsJson.Options), ToolCallId: r.CallId));
                continue;
            }
            turns.Add(new ChatTurn(m.Role.Value, calls.Count > 0 && text.Length == 0 ? null : text, calls.Count > 0 ? calls : null));
        }

        // :: Step 2: tools and the tool mode.
        var tools = (options?.Tools ?? []).OfType<AIFunctionDeclaration>()
            .Select(f => new ToolDefinition(f.Name, f.Description, f.JsonSchema.ValueKind == JsonValueKind.Object ? f.JsonSchema : null)).ToList();
        var choice = options?.ToolMode switch
        {
            NoneChatToolMode => ToolChoice.None,
            RequiredChatToolMode { RequiredFunctionName: { } name } => ToolChoice.Function(name),
            RequiredChatToolMode => ToolChoice.Required,
            _ => tools.Count > 0 ? ToolChoice.Auto : ToolChoice.None,
        };
        ToolCallingPlan? plan = null;
        IReadOnlyList<CoreChatMessage> chat;
        string? grammar = null;
        if (tools.Count > 0 || turns.Any(t => t.ToolCalls is not null || t.Role == "tool"))
        {
            plan = ToolCallingPlan.Create(turns, tools, choice, options?.AllowMultipleToolCalls ?? true, _format);
            chat = plan.Messages;
            grammar = plan.Grammar;
        }
        else
        {
            chat = [.. turns.Select(t => new CoreChatMessage(t.Role, t.Content ?? ""))];
        }

        // :: Step 3: structured output.
        var formatGrammar = options?.ResponseFormat switch
        {
            ChatResponseFormatJson { Schema: { } schema } => JsonSchemaGrammar.Compile(schema, "response_format"),
            ChatResponseFormatJson => JsonSchemaGrammar.AnyObject,
            _ => null,
        };
        if (formatGrammar is not null && grammar is not null)
            throw SovereignException.Invalid("A required tool call cannot be combined with a JSON response format.", "response_format");
        grammar ??= formatGrammar;

        // :: Step 4: sampling.
        var sampling = new SamplingParameters
        {
            Temperature = options?.Temperature ?? 1.0f,
            TopP = options?.TopP ?? 1.0f,
            TopK = options?.TopK ?? 0,
            Seed = options?.Seed is { } seed ? unchecked((uint)seed ^ (uint)(seed >> 32)) : null,
            PresencePenalty = options?.PresencePenalty ?? 0,
            FrequencyPenalty = options?.FrequencyPenalty ?? 0,
        };
        var request = new GenerationRequest
        {
            Id = "chatcmpl-" + Guid.NewGuid().ToString("N"),
            Model = options?.ModelId ?? _model,
            Messages = chat,
            MaxTokens = options?.MaxOutputTokens,
            Stop = options?.StopSequences is { } stops ? [.. stops] : [],
            Sampling = sampling,
            Grammar = grammar,
        };
        return (request, plan);
    }

    private static (List<AIContent> Contents, ChatFinishReason Finish) Interpret(string text, FinishReason reason, ToolCallingPlan? plan)
    {
        var output = plan?.ParseOutput(text) ?? new ToolCallOutput(text, []);
        var contents = new List<AIContent>();
        if (output.Content is { Length: > 0 } content)
            contents.Add(new TextContent(content));
        foreach (var call in output.Calls)
            contents.Add(new FunctionCallContent(call.Id, call.Name, ParseArguments(call.Arguments)));
        var finish = output.Calls.Count > 0 && reason != FinishReason.Length ? ChatFinishReason.ToolCalls : Finish(reason);
        return (contents, finish);
    }

    private static Dictionary<string, object?> ParseArguments(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json, AgentsJson.Options)?
                .ToDictionary(p => p.Key, p => (object?)p.Value) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static ChatFinishReason Finish(FinishReason reason) => reason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;

    private static UsageDetails Usage(GenerationUsage usage) => new()
    {
        InputTokenCount = usage.PromptTokens,
        OutputTokenCount = usage.CompletionTokens,
        TotalTokenCount = usage.TotalTokens,
    };

    private static ChatResponseUpdate Update(GenerationRequest request, IList<AIContent> contents) => new(ChatRole.Assistant, contents)
    {
        ResponseId = request.Id,
        MessageId = request.Id,
        ModelId = request.Model,
    };
}

internal static class AgentsJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
