using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Agents.ToolCalling;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Core.Options;
using Sovereign.Models.Store;
using Sovereign.Server.Apps;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Ollama;

/// <summary>
/// <c>POST /api/generate</c> and <c>POST /api/chat</c>: validates the whole request first (every problem in one 400),
/// maps it onto the engine and answers as Ollama does: streamed by default (NDJSON, a line per piece of text, then a
/// final object with done: true, done_reason, token counts and nanosecond timings), or one object with
/// <c>stream: false</c>. An empty prompt (generate) or no messages (chat) loads the model, or unloads it with
/// keep_alive 0, and answers done_reason "load" or "unload". Thread-safe.
/// </summary>
internal sealed partial class OllamaGenerationHandler(
    IInferenceService inference, IModelLocator locator, OllamaModelCatalog catalog, IOptions<SovereignOptions> options, TimeProvider time,
    ILogger<OllamaGenerationHandler> logger, Tenancy.GenerationMeter meter, AppChatResolver apps, AppToolChat appTools,
    Sovereign.Knowledge.Extraction.ImageTextReader imageText)
{
    private static readonly string[] Roles = ["system", "user", "assistant", "tool"];

    public async Task GenerateAsync(HttpContext context)
    {
        var received = time.GetTimestamp();
        var body = await JsonBody.ReadAsync(context.Request, OllamaJson.Context.OllamaGenerateRequest);

        // :: Step 1: check everything.
        var limits = options.Value.Limits;
        var problems = new RequestProblems();
        if (string.IsNullOrWhiteSpace(body.Model)) throw OllamaErrors.ModelRequired();
        var settings = OllamaRequestMapper.Options(body.Options, limits, problems);
        var keepAlive = OllamaRequestMapper.KeepAlive(body.KeepAlive, problems);
        var grammar = StructuredOutput.FromOllamaFormat(body.Format, problems);
        OllamaRequestMapper.RefuseThink(body.Think, problems);
        if (!string.IsNullOrEmpty(body.Template))
            problems.Unsupported("template", "template is not supported: the model's chat template applies (change it with `sov models template`), or send raw: true with a prompt you formatted yourself.");
        if (!string.IsNullOrEmpty(body.Suffix)) problems.Unsupported("suffix", "suffix (fill-in-the-middle) is not supported yet.");
        var images = new ChatImages();
        var imageMarks = Images(body.Images, "images", images, problems);
        if (OllamaRequestMapper.IsNonEmptyArray(body.Context))
            problems.Unsupported("context", "context (token ids of an earlier response) is not supported; send the whole conversation in the prompt, or use /api/chat.");
        SamplingRequestMapper.CheckPromptLength((long)(body.Prompt?.Length ?? 0) + (body.System?.Length ?? 0), "prompt", limits, problems);
        problems.ThrowIfAny();

        // :: Step 2: the model (400 for a bad name, 404 when absent).
        var manifest = await ResolveAsync(body.Model!, context.RequestAborted);
        var stream = body.Stream ?? true;
        var model = body.Model!;

        // :: Step 3: no prompt: load or unload.
        if (string.IsNullOrEmpty(body.Prompt))
        {
            var reason = await LoadOrUnloadAsync(manifest, keepAlive, context.RequestAborted);
            var writer = await NdjsonWriter.ForAsync(context, stream, context.RequestAborted);
            await writer.WriteAsync(new OllamaGenerateChunk(model, catalog.Now(), "", true, reason), OllamaJson.Context.OllamaGenerateChunk, context.RequestAborted);
            return;
        }

        // :: Step 4: the prompt, through the model's chat template unless raw or the model has none.
        var raw = body.Raw == true;
        var templated = !raw && (manifest.ChatTemplateOverride is not null || manifest.HasChatTemplate);
        List<ChatMessage>? messages = null;
        if (templated)
        {
            messages = [.. string.IsNullOrEmpty(body.System) ? Array.Empty<ChatMessage>() : [new ChatMessage("system", body.System)], new ChatMessage("user", imageMarks + body.Prompt)];
            // A model with a vision projector sees the images; any other reads their text.
            messages = manifest.ProjectorDigest is not null ? images.AttachTo(messages) : await images.ReplaceWithTextAsync(messages, imageText, context.RequestAborted);
        }
        else if (images.Count > 0)
        {
            throw SovereignException.Invalid(raw
                ? "images cannot be sent with raw: true; the image goes where the model's chat template puts it."
                : $"images need a chat template, and the model '{body.Model}' has none.", "images");
        }
        var request = new GenerationRequest
        {
            Id = NewId("gen"),
            Model = manifest.Reference,
            Prompt = templated ? null : raw || string.IsNullOrEmpty(body.System) ? body.Prompt : body.System + "\n\n" + body.Prompt,
            Messages = messages,
            Stop = settings.Stop,
            Sampling = settings.Sampling,
            KeepAlive = keepAlive,
            Grammar = grammar,
            MaxTokens = settings.NumPredict,
            ClampMaxTokens = true,
            ContextLimit = settings.NumCtx,
        };
        if (logger.IsEnabled(LogLevel.Trace)) logger.CompletionPromptText(request.Id, body.Prompt);
        await RespondAsync(context, request, new GenerateShape(model, raw, catalog), stream, settings, received);
    }

    public async Task ChatAsync(HttpContext context)
    {
        var received = time.GetTimestamp();
        var body = await JsonBody.ReadAsync(context.Request, OllamaJson.Context.OllamaChatRequest);
        var app = await apps.ApplyAsync(body, context.RequestAborted); // model "app:<id>": the app's model, prompt, defaults
        if (app is not null) Tenancy.GenerationMeter.MarkApp(context, app.AppId);

        // :: Step 1: check everything.
        var limits = options.Value.Limits;
        var problems = new RequestProblems();
        if (string.IsNullOrWhiteSpace(body.Model)) throw OllamaErrors.ModelRequired();
        var settings = OllamaRequestMapper.Options(body.Options, limits, problems);
        var keepAlive = OllamaRequestMapper.KeepAlive(body.KeepAlive, problems);
        var grammar = StructuredOutput.FromOllamaFormat(body.Format, problems);
        OllamaRequestMapper.RefuseThink(body.Think, problems);
        var tools = ToolRequestMapper.Tools(body.Tools, problems);
        // An app's tools run server-side unless the client brings tools of its own (then it handles the calls itself).
        var runAppTools = AppToolChat.Applies(app, tools.Count);
        var toolChoice = ToolRequestMapper.Choice(body.ToolChoice, tools.Count > 0 || runAppTools, problems);
        var images = new ChatImages();
        var turns = MapMessages(body.Messages, problems, out var chars, images);
        SamplingRequestMapper.CheckPromptLength(chars, "messages", limits, problems);
        problems.ThrowIfAny();

        // :: Step 2: the model.
        var manifest = await ResolveAsync(body.Model!, context.RequestAborted);
        var stream = body.Stream ?? true;
        var model = body.Model!;

        // :: Step 3: no messages: load or unload.
        if (turns.Count == 0)
        {
            var reason = await LoadOrUnloadAsync(manifest, keepAlive, context.RequestAborted);
            var writer = await NdjsonWriter.ForAsync(context, stream, context.RequestAborted);
            await writer.WriteAsync(new OllamaChatChunk(model, catalog.Now(), new OllamaMessage("assistant", ""), true, reason),
                OllamaJson.Context.OllamaChatChunk, context.RequestAborted);
            return;
        }

        // A model with a vision projector sees the images; any other reads their text (so does the app-tool loop, which
        // carries text turns only).
        var vision = manifest.ProjectorDigest is not null && !runAppTools;
        if (!vision) turns = await images.ReplaceWithTextAsync(turns, imageText, context.RequestAborted);

        if (runAppTools)
        {
            // The loop constrains output only to force tool calls; a schema over the whole answer would forbid them.
            if (grammar is not null)
                throw SovereignException.Invalid($"The app '{app!.AppId}' answers with tools, which cannot be combined with format.", "format", "unsupported_with_app_tools");
            var (instructions, conversation) = AppToolChat.Split(turns);
            var run = new AppToolRequest(NewId("chat"), manifest.Reference, instructions, conversation, AppToolChat.Choice(toolChoice), settings.NumPredict, settings.Sampling, settings.Stop);
            if (logger.IsEnabled(LogLevel.Trace))
                logger.ChatPromptText(run.Id, AppChatResolver.ForLog(app, string.Join("\n", turns.Select(t => $"{t.Role}: {t.Content}"))));
            await appTools.RespondOllamaAsync(context, app!, run, model, catalog, stream, received);
            return;
        }

        // :: Step 4: tools, in the format of the model's family, as /v1/chat/completions does; tool_choice (our extension) forces a call.
        ToolCallingPlan? plan = null;
        List<ChatMessage> messages;
        if (tools.Count > 0 || turns.Any(t => t.ToolCalls is not null))
        {
            plan = ToolCallingPlan.Create(turns, tools, toolChoice, parallel: true, ToolCallFormats.ForTemplate(manifest.ChatTemplateOverride));
            messages = [.. plan.Messages];
            if (plan.Grammar is not null)
            {
                if (grammar is not null)
                    throw SovereignException.Invalid("A required or named tool call cannot be combined with format.", "tool_choice");
                grammar = plan.Grammar;
            }
        }
        else
        {
            messages = [.. turns.Select(t => new ChatMessage(t.Role, t.Content ?? ""))];
        }
        if (vision) messages = images.AttachTo(messages);

        // :: Step 5: generate.
        var request = new GenerationRequest
        {
            Id = NewId("chat"),
            Model = manifest.Reference,
            Messages = messages,
            Stop = settings.Stop,
            Sampling = settings.Sampling,
            KeepAlive = keepAlive,
            Grammar = grammar,
            MaxTokens = settings.NumPredict,
            ClampMaxTokens = true,
            ContextLimit = settings.NumCtx,
        };
        if (logger.IsEnabled(LogLevel.Trace))
            logger.ChatPromptText(request.Id, AppChatResolver.ForLog(app, string.Join("\n", messages.Select(m => $"{m.Role}: {m.Content}"))));
        await RespondAsync(context, request, new ChatShape(model, catalog, plan), stream, settings, received);
    }

    /// <summary>
    /// Roles system, user, assistant and tool; content a string (null is empty); an assistant's tool_calls in Ollama's shape
    /// (<c>{"function": {"name", "arguments": {…}}}</c>, no ids); a message's <c>images</c> (base64) go before its text, as
    /// Ollama places them, when <paramref name="images"/> is given, and are refused otherwise.
    /// </summary>
    internal static List<ChatTurn> MapMessages(List<OllamaMessageInput?>? input, RequestProblems problems, out long chars, ChatImages? images = null)
    {
        chars = 0;
        var messages = new List<ChatTurn>();
        if (input is null) return messages;
        // Ollama's tool messages carry no call id: each answers the next unanswered call of the assistant turn before it
        // (the one its tool_name names, when given).
        var unanswered = new List<ToolCall>();
        var anyCalls = false;
        for (var i = 0; i < input.Count; i++)
        {
            var param = $"messages[{i}]";
            if (input[i] is not { } message)
            {
                problems.Add(param, $"{param} must be a message object, got null.", "invalid_type");
                continue;
            }
            if (string.IsNullOrEmpty(message.Role))
            {
                problems.Missing($"{param}.role");
                continue;
            }
            if (!Roles.Contains(message.Role))
            {
                problems.Add($"{param}.role", $"{param}.role must be one of 'system', 'user', 'assistant' or 'tool', got '{message.Role}'.", "invalid_value");
                continue;
            }
            var imageMarks = "";
            if (images is null)
            {
                if (OllamaRequestMapper.IsNonEmptyArray(message.Images))
                    problems.Unsupported($"{param}.images", $"{param}.images: images are not taken here.");
            }
            else
            {
                imageMarks = Images(message.Images, $"{param}.images", images, problems);
            }
            var calls = message.Role == "assistant" ? Calls(message.ToolCalls, $"{param}.tool_calls", problems) : null;
            string content;
            switch (message.Content)
            {
                case null or { ValueKind: JsonValueKind.Null }:
                    content = "";
                    break;
                case { ValueKind: JsonValueKind.String } text:
                    content = text.GetString()!;
                    break;
                default:
                    problems.Add($"{param}.content", $"{param}.content must be a string, got {OllamaRequestMapper.Describe(message.Content.Value)}.", "invalid_type");
                    continue;
            }
            chars += content.Length;
            content = imageMarks + content;
            string? callId = null;
            if (message.Role == "tool")
            {
                var answered = unanswered.FirstOrDefault(c => message.ToolName is null || c.Name == message.ToolName);
                if (answered is null && anyCalls)
                {
                    problems.Add(param, $"{param} is a tool result, but no earlier assistant message has a tool call {(message.ToolName is null ? "left to answer" : $"to '{message.ToolName}' left to answer")}.", "invalid_value");
                    continue;
                }
                // Without any call in the history, a tool message is passed to the template as it is, as Ollama does.
                if (answered is not null)
                {
                    unanswered.Remove(answered);
                    callId = answered.Id;
                }
            }
            else if (calls is not null)
            {
                unanswered = [.. calls];
                anyCalls = true;
            }
            messages.Add(new ChatTurn(message.Role, content, calls, callId));
        }
        return messages;
    }

    /// <summary>Ollama's <c>images</c> (an array of base64 strings): their placeholders, one per line, to go before the text.</summary>
    private static string Images(JsonElement? value, string param, ChatImages images, RequestProblems problems)
    {
        if (value is not { } array || array.ValueKind == JsonValueKind.Null) return "";
        if (array.ValueKind != JsonValueKind.Array)
        {
            problems.Add(param, $"{param} must be an array of base64 strings, got {OllamaRequestMapper.Describe(array)}.", "invalid_type");
            return "";
        }
        var marks = new StringBuilder();
        var i = 0;
        foreach (var image in array.EnumerateArray())
        {
            if (images.AddBase64(image, $"{param}[{i++}]", problems) is { } placeholder) marks.Append(placeholder).Append('\n');
        }
        return marks.ToString();
    }

    /// <summary>An assistant message's tool_calls in Ollama's shape; ids are made up (Ollama has none), arguments are an object.</summary>
    private static List<ToolCall>? Calls(JsonElement? calls, string param, RequestProblems problems)
    {
        if (calls is not { } array || array.ValueKind == JsonValueKind.Null) return null;
        if (array.ValueKind != JsonValueKind.Array)
        {
            problems.Add(param, $"{param} must be an array, got {OllamaRequestMapper.Describe(array)}.", "invalid_type");
            return null;
        }
        var result = new List<ToolCall>();
        var i = 0;
        foreach (var call in array.EnumerateArray())
        {
            var at = $"{param}[{i}]";
            if (call.ValueKind != JsonValueKind.Object
                || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            {
                problems.Add(at, $"{at} must be {{\"function\": {{\"name\", \"arguments\": {{…}}}}}}.", "invalid_value");
                i++;
                continue;
            }
            var arguments = function.TryGetProperty("arguments", out var a) ? a : default;
            var text = arguments.ValueKind switch
            {
                JsonValueKind.Object => arguments.GetRawText(),
                JsonValueKind.String => arguments.GetString()!, // some clients send OpenAI's JSON text
                JsonValueKind.Undefined or JsonValueKind.Null => "{}",
                _ => null,
            };
            if (text is null) problems.Add($"{at}.function.arguments", $"{at}.function.arguments must be an object.", "invalid_type");
            else result.Add(new ToolCall($"call_{i}", name.GetString()!, text));
            i++;
        }
        return result;
    }

    /// <summary>The model from this node's store or, in a cluster, another node's (the request runs there).</summary>
    private async Task<ModelManifest> ResolveAsync(string model, CancellationToken cancellationToken)
    {
        if (!ModelName.TryParse(model, out _))
            throw SovereignException.Invalid($"invalid model name '{model}': use name[:tag] with letters, digits, '.', '-', '_' and '/'.", "model", "invalid_model_name");
        return await locator.FindAsync(model, cancellationToken) ?? throw OllamaErrors.ModelNotFound(model);
    }

    private async Task<string> LoadOrUnloadAsync(ModelManifest manifest, TimeSpan? keepAlive, CancellationToken cancellationToken)
    {
        if (keepAlive == TimeSpan.Zero)
        {
            var unloaded = await inference.UnloadAsync(manifest.Reference, cancellationToken);
            LogUnloadRequested(logger, manifest.Reference, unloaded);
            return "unload";
        }
        await inference.LoadAsync(manifest.Reference, keepAlive, cancellationToken);
        LogLoadRequested(logger, manifest.Reference);
        return "load";
    }

    private static string NewId(string kind) => $"ollama-{kind}-{Guid.NewGuid():N}";

    /// <summary>
    /// Runs one validated request and answers it.
    /// <list type="number">
    /// <item>Start the generation and wait for its first event (Started, once the model is loaded and a slot is free):
    /// failures up to here, and a prompt that alone fills num_ctx, are ordinary HTTP errors. num_predict and num_ctx
    /// are the engine's limits: it lowers num_predict to what fits beside the prompt (Ollama's clients cannot know
    /// the prompt's length) and ends with done_reason "length" when either is reached.</item>
    /// <item>Streamed: a line per text delta (several tokens when they queued up), flushed at once; a failure after
    /// that is an in-band <c>{"error"}</c> line. Whole: the text is collected and a failure is still an HTTP error.</item>
    /// <item>The final object: load_duration is the time until the engine took the request (starting the runner when
    /// the model was not loaded, and waiting for a slot); the prompt and eval timings are the engine's.</item>
    /// </list>
    /// The client's disconnect cancels the generation.
    /// </summary>
    private async Task RespondAsync(HttpContext context, GenerationRequest request, IOllamaShape shape, bool stream, OllamaGenerationOptions settings, long received)
    {
        var ct = context.RequestAborted;
        logger.GenerationRequested(request.Id, request.Model, stream, settings.NumPredict);

        // :: Step 1
        StartedGeneration started;
        try
        {
            started = await StartedGeneration.StartAsync(meter.Wrap(inference, context, Tenancy.GenerationMeter.OllamaApi), request, ct);
        }
        catch (SovereignException e) when (e.Param == GenerationRequest.ContextLimitParam)
        {
            throw SovereignException.Invalid($"{e.Message} Raise options.num_ctx or shorten the prompt.", "options.num_ctx", e.Code);
        }
        await using var generation = started;
        var loadDuration = time.GetElapsedTime(received);
        await using var events = generation.EventsAsync(ct).GetAsyncEnumerator(ct);
        GenerationEvent? pending = null;
        if (await events.MoveNextAsync() && events.Current is not GenerationEvent.Started) pending = events.Current;

        // :: Step 2
        var writer = stream ? await NdjsonWriter.StartStreamAsync(context, ct) : null;
        var text = stream ? null : new StringBuilder();
        GenerationEvent.Finished? finished = null;
        string? error = null;
        while (finished is null && error is null)
        {
            GenerationEvent current;
            if (pending is not null)
            {
                current = pending;
                pending = null;
            }
            else
            {
                try
                {
                    if (!await events.MoveNextAsync())
                    {
                        logger.GenerationEndedEarly(request.Id);
                        error = "The engine ended the generation without a result.";
                        break;
                    }
                    current = events.Current;
                }
                catch (SovereignException e) when (stream && !ct.IsCancellationRequested)
                {
                    logger.GenerationFailed(request.Id, e.Kind, e.Code, e.Message);
                    error = e.Message;
                    break;
                }
                catch (Exception e) when (stream && !ct.IsCancellationRequested && e is not OperationCanceledException)
                {
                    logger.GenerationCrashed(e, request.Id);
                    error = $"The server had an error while generating (request id {request.Id}); its log has the details.";
                    break;
                }
            }

            switch (current)
            {
                case GenerationEvent.TextDelta delta:
                    if (delta.Text.Length > 0)
                    {
                        if (writer is not null) await shape.WriteChunkAsync(writer, delta.Text, ct);
                        else text!.Append(delta.Text);
                    }
                    break;
                case GenerationEvent.Finished done:
                    finished = done;
                    break;
                case GenerationEvent.Failed failed:
                    if (!stream) throw StartedGeneration.ToException(failed);
                    logger.GenerationFailed(request.Id, failed.Kind, failed.Code, failed.Message);
                    error = failed.Message;
                    break;
            }
        }

        if (finished is null)
        {
            if (writer is null) throw new SovereignException(ErrorKind.Internal, error ?? "The engine ended the generation without a result.", code: "engine_error");
            await writer.WriteErrorAsync(error ?? "The engine ended the generation without a result.", ct);
            return;
        }

        // :: Step 3
        logger.GenerationCompleted(request.Id, finished.Reason, finished.Usage.PromptTokens, finished.Usage.CompletionTokens);
        var stats = new OllamaStats(
            finished.Reason == FinishReason.Length ? "length" : "stop",
            OllamaFormat.Nanoseconds(time.GetElapsedTime(received)),
            OllamaFormat.Nanoseconds(loadDuration),
            finished.Usage.PromptTokens,
            OllamaFormat.Nanoseconds(finished.Usage.PromptTime),
            finished.Usage.CompletionTokens,
            OllamaFormat.Nanoseconds(finished.Usage.DecodeTime));
        await shape.WriteDoneAsync(writer ?? NdjsonWriter.Whole(context), text?.ToString() ?? "", stats, ct);
    }

    [LoggerMessage(EventId = 6010, Level = LogLevel.Information, Message = "Ollama API: load of {Model} requested")]
    private static partial void LogLoadRequested(ILogger logger, string model);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Information, Message = "Ollama API: unload of {Model} requested (was loaded: {WasLoaded})")]
    private static partial void LogUnloadRequested(ILogger logger, string model, bool wasLoaded);
}

/// <summary>The final object's counts and timings (nanoseconds).</summary>
internal sealed record OllamaStats(string DoneReason, long TotalDuration, long LoadDuration, int PromptEvalCount, long PromptEvalDuration, int EvalCount, long EvalDuration);

/// <summary>How generate and chat differ on the wire: "response" text vs an assistant "message". Immutable.</summary>
internal interface IOllamaShape
{
    ValueTask WriteChunkAsync(NdjsonWriter writer, string text, CancellationToken cancellationToken);

    /// <summary>The final object; <paramref name="text"/> is the whole text when not streamed, else empty.</summary>
    ValueTask WriteDoneAsync(NdjsonWriter writer, string text, OllamaStats stats, CancellationToken cancellationToken);
}

/// <param name="Model">The model as the client named it (Ollama echoes it).</param>
/// <param name="Raw">Raw prompts get no context in the final object, as in Ollama.</param>
internal sealed record GenerateShape(string Model, bool Raw, OllamaModelCatalog Catalog) : IOllamaShape
{
    public ValueTask WriteChunkAsync(NdjsonWriter writer, string text, CancellationToken cancellationToken) =>
        writer.WriteAsync(new OllamaGenerateChunk(Model, Catalog.Now(), text, false), OllamaJson.Context.OllamaGenerateChunk, cancellationToken);

    public ValueTask WriteDoneAsync(NdjsonWriter writer, string text, OllamaStats stats, CancellationToken cancellationToken) =>
        writer.WriteAsync(new OllamaGenerateDone(Model, Catalog.Now(), text, true, stats.DoneReason, Raw ? null : [],
            stats.TotalDuration, stats.LoadDuration, stats.PromptEvalCount, stats.PromptEvalDuration, stats.EvalCount, stats.EvalDuration),
            OllamaJson.Context.OllamaGenerateDone, cancellationToken);
}

/// <summary>
/// The assistant message of /api/chat. With tools, text that may be a call is held until the generation ends and then sent
/// as <c>tool_calls</c> (or as the text, when it was none), as Ollama does; the final object follows. Not thread-safe: one per request.
/// </summary>
internal sealed class ChatShape(string model, OllamaModelCatalog catalog, ToolCallingPlan? plan = null) : IOllamaShape
{
    private readonly StringBuilder _held = new();

    private bool Watching => plan is { Tools.Count: > 0 } p && p.Choice is not ToolChoice.NoneChoice;

    public ValueTask WriteChunkAsync(NdjsonWriter writer, string text, CancellationToken cancellationToken)
    {
        if (Watching)
        {
            _held.Append(text);
            return ValueTask.CompletedTask;
        }
        return writer.WriteAsync(new OllamaChatChunk(model, catalog.Now(), new OllamaMessage("assistant", text), false),
            OllamaJson.Context.OllamaChatChunk, cancellationToken);
    }

    public async ValueTask WriteDoneAsync(NdjsonWriter writer, string text, OllamaStats stats, CancellationToken cancellationToken)
    {
        var message = new OllamaMessage("assistant", text);
        if (Watching)
        {
            var streamed = _held.Length > 0;
            var output = streamed ? _held.ToString() : text;
            var parsed = plan!.ParseOutput(output);
            var answer = parsed.Calls.Count == 0
                ? new OllamaMessage("assistant", output)
                : new OllamaMessage("assistant", (parsed.Content ?? "").Trim()) { ToolCalls = [.. parsed.Calls.Select(OllamaToolCall.From)] };
            if (streamed)
            {
                await writer.WriteAsync(new OllamaChatChunk(model, catalog.Now(), answer, false), OllamaJson.Context.OllamaChatChunk, cancellationToken);
                message = new OllamaMessage("assistant", "");
            }
            else
            {
                message = answer;
            }
        }
        await writer.WriteAsync(new OllamaChatDone(model, catalog.Now(), message, true, stats.DoneReason,
            stats.TotalDuration, stats.LoadDuration, stats.PromptEvalCount, stats.PromptEvalDuration, stats.EvalCount, stats.EvalDuration),
            OllamaJson.Context.OllamaChatDone, cancellationToken);
    }
}
