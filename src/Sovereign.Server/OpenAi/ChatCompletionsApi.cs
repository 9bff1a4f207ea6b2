using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Agents.ToolCalling;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Core.Options;
using Sovereign.Knowledge.Extraction;
using Sovereign.Server.Apps;
using Sovereign.Server.Knowledge;

namespace Sovereign.Server.OpenAi;

/// <summary><c>POST /v1/chat/completions</c> in OpenAI's wire format.</summary>
internal static class ChatCompletionsApi
{
    public static IEndpointRouteBuilder MapChatCompletionsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", (HttpContext context, ChatCompletionsHandler handler) => handler.HandleAsync(context))
            .WithName("CreateChatCompletion");
        return app;
    }
}

/// <summary>
/// Validates a chat request completely before the engine sees it, maps it to a <see cref="GenerationRequest"/> and
/// answers. Thread-safe.
/// </summary>
internal sealed class ChatCompletionsHandler(GenerationResponder responder, IOptions<SovereignOptions> options, KnowledgeAugmenter knowledgeAugmenter, ILogger<ChatCompletionsHandler> logger, AppChatResolver apps, ImageTextReader imageText, AppToolChat appTools)
{
    private static readonly string[] Roles = ["system", "user", "assistant", "tool", "developer"];

    public async Task HandleAsync(HttpContext context)
    {
        // :: Step 1: parse (bad JSON → 400 saying where).
        var body = await JsonBody.ReadAsync(context.Request, ServerJsonContext.Default.ChatCompletionRequest);
        var app = await apps.ApplyAsync(body, context.RequestAborted); // model "app:<id>": the app's model, prompt, defaults
        if (app is not null) Tenancy.GenerationMeter.MarkApp(context, app.AppId);

        // :: Step 2: check everything, reporting every problem at once.
        var limits = options.Value.Limits;
        var problems = new RequestProblems();
        if (string.IsNullOrWhiteSpace(body.Model)) problems.Missing("model");
        var images = new ChatImages();
        var turns = MapMessages(body.Messages, problems, out var promptChars, images);
        var tools = ToolRequestMapper.Tools(body.Tools, problems);
        // An app's tools run server-side unless the client brings tools of its own (then it handles the calls itself).
        var runAppTools = AppToolChat.Applies(app, tools.Count);
        var toolChoice = ToolRequestMapper.Choice(body.ToolChoice, tools.Count > 0 || runAppTools, problems);
        var sampling = SamplingRequestMapper.Sampling(body, problems);
        var maxTokens = body.MaxCompletionTokens is not null
            ? SamplingRequestMapper.MaxTokens(body.MaxCompletionTokens, "max_completion_tokens", limits, problems)
            : SamplingRequestMapper.MaxTokens(body.MaxTokens, "max_tokens", limits, problems);
        var stop = SamplingRequestMapper.Stop(body.Stop, limits, problems);
        SamplingRequestMapper.CheckShared(body, problems);
        var grammar = StructuredOutput.FromRawGrammar(body.Grammar, StructuredOutput.FromResponseFormat(body.ResponseFormat, problems), problems);
        if (body.Logprobs == true) problems.Unsupported("logprobs", "logprobs are not supported by this server yet.");
        SamplingRequestMapper.CheckPromptLength(promptChars, "messages", limits, problems);
        var knowledge = KnowledgeAugmenter.Parse(body.Knowledge, problems);
        problems.ThrowIfAny();

        // :: Step 3: the model must be in the store (404 model_not_found otherwise).
        var manifest = await responder.ResolveModelAsync(body.Model!, context.RequestAborted);
        // A model with a vision projector sees the images; any other reads their text. The app-tool loop
        // carries text turns only, so there the images are read as text too.
        var vision = manifest.ProjectorDigest is not null && !runAppTools;
        if (!vision) turns = await images.ReplaceWithTextAsync(turns, imageText, context.RequestAborted);
        if (runAppTools)
        {
            await RespondWithAppToolsAsync(context, app!, body, turns, toolChoice, grammar, knowledge, manifest, sampling, maxTokens, stop);
            return;
        }

        // :: Step 4: tools, in the format of the model's family; a forced call brings its own grammar.
        ToolCallingPlan? plan = null;
        List<ChatMessage> messages;
        if (tools.Count > 0 || turns.Any(t => t.ToolCalls is not null || t.Role == "tool"))
        {
            plan = ToolCallingPlan.Create(turns, tools, toolChoice, body.ParallelToolCalls ?? true, ToolCallFormats.ForTemplate(manifest.ChatTemplateOverride));
            messages = [.. plan.Messages];
            if (plan.Grammar is not null)
            {
                if (grammar is not null)
                    throw SovereignException.Invalid("A required or named tool call cannot be combined with response_format or grammar.", "tool_choice");
                grammar = plan.Grammar;
            }
        }
        else
        {
            messages = [.. turns.Select(t => new ChatMessage(t.Role, t.Content ?? ""))];
        }

        if (vision) messages = images.AttachTo(messages);

        // :: Step 5: map and answer.
        var responseFormat = new ChatResponseFormat(ResponseFormat.NewId(ChatResponseFormat.IdPrefix), responder.Now(), manifest.Reference,
            ResponseFormat.FingerprintOf(manifest.Digest), plan);
        var answerFormat = await knowledgeAugmenter.AugmentAsync(knowledge, messages, responseFormat, context.RequestAborted);
        var request = new GenerationRequest
        {
            Id = responseFormat.Id,
            Model = manifest.Reference,
            Messages = messages,
            MaxTokens = maxTokens,
            Stop = stop,
            Sampling = sampling,
            IgnoreEos = body.IgnoreEos == true,
            Grammar = grammar,
        };
        if (logger.IsEnabled(LogLevel.Trace))
            logger.ChatPromptText(request.Id, AppChatResolver.ForLog(app, string.Join("\n", messages.Select(m => $"{m.Role}: {m.Content}"))));
        await responder.RespondAsync(context, request, answerFormat, body.Stream == true, SamplingRequestMapper.IncludeUsage(body));
    }

    /// <summary>
    /// The app's tools, run by the agent loop (see <see cref="AppToolChat"/>): its system prompt, with the passages its
    /// knowledge retrieved, is the run's instructions; the client's turns are the conversation.
    /// </summary>
    private async Task RespondWithAppToolsAsync(HttpContext context, AppChat app, ChatCompletionRequest body, List<ChatTurn> turns, ToolChoice toolChoice,
        string? grammar, KnowledgeRequest? knowledge, Models.Store.ModelManifest manifest, SamplingParameters sampling, int? maxTokens, IReadOnlyList<string> stop)
    {
        // The loop constrains output only to force tool calls; a schema over the whole answer would forbid them.
        if (grammar is not null)
            throw SovereignException.Invalid($"The app '{app.AppId}' answers with tools, which cannot be combined with response_format or grammar.",
                body.Grammar is not null ? "grammar" : "response_format", "unsupported_with_app_tools");
        var (_, conversation) = AppToolChat.Split(turns);
        var format = new ChatResponseFormat(ResponseFormat.NewId(ChatResponseFormat.IdPrefix), responder.Now(), manifest.Reference, ResponseFormat.FingerprintOf(manifest.Digest));
        var grounded = turns.Select(t => new ChatMessage(t.Role, t.Content ?? "")).ToList();
        var answerFormat = await knowledgeAugmenter.AugmentAsync(knowledge, grounded, format, context.RequestAborted);
        var instructions = grounded[0].Role == "system" ? grounded[0].Content : "";
        var request = new AppToolRequest(format.Id, manifest.Reference, instructions, conversation, AppToolChat.Choice(toolChoice), maxTokens, sampling, stop);
        if (logger.IsEnabled(LogLevel.Trace))
            logger.ChatPromptText(request.Id, AppChatResolver.ForLog(app, string.Join("\n", [$"system: {instructions}", .. conversation.Select(m => $"{m.Role}: {m.Content}")])));
        await appTools.RespondOpenAiAsync(context, app, request, answerFormat, body.Stream == true, SamplingRequestMapper.IncludeUsage(body));
    }

    /// <summary>
    /// Roles system, user, assistant, tool and developer (sent to the template as system, as OpenAI treats it);
    /// content as a string or an array of text parts (joined with newlines) and, when <paramref name="images"/> is
    /// given, image_url parts (see <see cref="ChatImages"/>). Other part types are refused for now.
    /// </summary>
    internal static List<ChatTurn> MapMessages(List<ChatMessageInput?>? input, RequestProblems problems, out long chars, ChatImages? images = null)
    {
        chars = 0;
        var messages = new List<ChatTurn>();
        if (input is null)
        {
            problems.Missing("messages");
            return messages;
        }
        if (input.Count == 0)
        {
            problems.Add("messages", "Invalid 'messages': empty array. Expected an array with at least one message.", "empty_array");
            return messages;
        }

        for (var i = 0; i < input.Count; i++)
        {
            var param = $"messages[{i}]";
            if (input[i] is not { } message)
            {
                problems.Add(param, $"Invalid '{param}': expected a message object, got null.", "invalid_type");
                continue;
            }
            if (string.IsNullOrEmpty(message.Role))
            {
                problems.Missing($"{param}.role");
                continue;
            }
            if (!Roles.Contains(message.Role))
            {
                problems.Add($"{param}.role", $"Invalid value for '{param}.role': '{message.Role}'. Supported values are: 'system', 'user', 'assistant', 'tool' and 'developer'.", "invalid_value");
                continue;
            }
            var calls = message.Role == "assistant" ? ToolRequestMapper.Calls(message.ToolCalls, $"{param}.tool_calls", problems) : null;
            var content = MapContent(message.Content, message.Role, param, problems, images);
            if (content is null) continue;
            chars += content.Length + (calls?.Sum(c => c.Arguments.Length + c.Name.Length) ?? 0);
            messages.Add(new ChatTurn(message.Role == "developer" ? "system" : message.Role, content, calls, message.ToolCallId));
        }
        return messages;
    }

    private static string? MapContent(JsonElement? content, string role, string param, RequestProblems problems, ChatImages? images)
    {
        if (content is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            // An assistant turn that only called tools has no content.
            if (role == "assistant") return "";
            problems.Missing($"{param}.content");
            return null;
        }
        if (element.ValueKind == JsonValueKind.String) return element.GetString()!;
        if (element.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"{param}.content", $"Invalid type for '{param}.content': expected a string or an array of content parts.", "invalid_type");
            return null;
        }

        var text = new StringBuilder();
        var j = 0;
        foreach (var part in element.EnumerateArray())
        {
            var partParam = $"{param}.content[{j++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                problems.Add(partParam, $"Invalid '{partParam}': expected an object with a 'type'.", "invalid_type");
                return null;
            }
            if (type.GetString() == "image_url" && images is not null)
            {
                if (images.Add(part, partParam, problems) is not { } placeholder) return null;
                if (text.Length > 0) text.Append('\n');
                text.Append(placeholder);
                continue;
            }
            if (type.GetString() != "text")
            {
                problems.Unsupported($"{partParam}.type",
                    $"Content parts of type '{type.GetString()}' are not supported yet ('{partParam}'); send text parts only.");
                return null;
            }
            if (!part.TryGetProperty("text", out var partText) || partText.ValueKind != JsonValueKind.String)
            {
                problems.Missing($"{partParam}.text");
                return null;
            }
            if (text.Length > 0) text.Append('\n');
            text.Append(partText.GetString());
        }
        return text.ToString();
    }
}
