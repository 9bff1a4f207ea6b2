using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Sovereign.Apps.Definitions;
using Sovereign.Apps.Guardrails;
using Sovereign.Apps.Store;
using Sovereign.Core.Errors;
using Sovereign.Server.Ollama;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Apps;

/// <summary>
/// The one hook the chat APIs call for apps: when the request's model is <c>app:&lt;id&gt;</c> (or
/// <c>app:&lt;id&gt;:&lt;language&gt;</c>), rewrites the parsed request so the rest of the chat path runs it like any
/// other: the live version's model, its system prompt first, its sampling defaults where the request set none, and its
/// knowledge and tools through the fields those features read. Requests for plain models pass untouched.
/// Thread-safe (stateless apart from its services).
/// </summary>
internal sealed partial class AppChatResolver(IAppStore store, ILogger<AppChatResolver> logger)
{
    public const string Prefix = "app:";

    /// <summary>OpenAI's chat completions. Returns the app applied, or null for a plain model.</summary>
    public async Task<AppChat?> ApplyAsync(ChatCompletionRequest body, CancellationToken cancellationToken)
    {
        var app = await ResolveAsync(body.Model, cancellationToken);
        if (app is null) return null;

        body.Model = app.Definition.Model;
        body.Messages = [SystemMessage(app), .. body.Messages ?? []];
        if (app.Definition.Sampling is { } s)
        {
            body.Temperature ??= s.Temperature;
            body.TopP ??= s.TopP;
            body.TopK ??= s.TopK;
            body.MinP ??= s.MinP;
            body.RepeatPenalty ??= s.RepeatPenalty;
            body.Seed ??= s.Seed;
            if (body.MaxTokens is null && body.MaxCompletionTokens is null) body.MaxTokens = s.MaxTokens;
        }
        // The knowledge feature retrieves passages into the system prompt and answers with citations.
        if (app.Definition.Knowledge is { Bases.Count: > 0 } knowledge && body.Knowledge is null or { ValueKind: JsonValueKind.Null })
        {
            body.Knowledge = JsonSerializer.SerializeToElement(new JsonObject
            {
                ["bases"] = new JsonArray([.. knowledge.Bases.Select(b => (JsonNode)b)]),
                ["top_k"] = knowledge.TopK,
            });
        }
        return app;
    }

    /// <summary>Ollama's <c>/api/chat</c>: the same, with the sampling defaults merged into <c>options</c>.</summary>
    public async Task<AppChat?> ApplyAsync(OllamaChatRequest body, CancellationToken cancellationToken)
    {
        var app = await ResolveAsync(body.Model, cancellationToken);
        if (app is null) return null;

        body.Model = app.Definition.Model;
        var system = new OllamaMessageInput { Role = "system", Content = JsonSerializer.SerializeToElement(app.SystemPrompt) };
        // With no messages Ollama loads the model; an app adds nothing then.
        if (body.Messages is { Count: > 0 } messages) body.Messages = [system, .. messages];
        if (app.Definition.Sampling is { } s)
        {
            var options = body.Options is { ValueKind: JsonValueKind.Object } given ? JsonNode.Parse(given.GetRawText())!.AsObject() : [];
            void Default(string name, JsonNode? value)
            {
                if (value is not null && !options.ContainsKey(name)) options[name] = value;
            }
            Default("temperature", s.Temperature);
            Default("top_p", s.TopP);
            Default("top_k", s.TopK);
            Default("min_p", s.MinP);
            Default("repeat_penalty", s.RepeatPenalty);
            Default("num_predict", s.MaxTokens);
            Default("seed", s.Seed);
            if (body.Options is null or { ValueKind: JsonValueKind.Object or JsonValueKind.Null }) body.Options = JsonSerializer.SerializeToElement(options);
        }
        return app;
    }

    /// <summary>Prompt text for the Trace log: personal data masked when the app asks for it.</summary>
    public static string ForLog(AppChat? app, string text) =>
        app?.Definition.Guardrails?.MaskPersonalData ?? false ? PersonalDataMasker.Mask(text) : text;

    private async Task<AppChat?> ResolveAsync(string? model, CancellationToken cancellationToken)
    {
        if (model is null || !model.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var rest = model[Prefix.Length..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        var id = colon < 0 ? rest : rest[..colon];
        var language = colon < 0 ? null : rest[(colon + 1)..];
        var record = await store.GetAsync(id, cancellationToken)
            ?? throw new SovereignException(ErrorKind.NotFound, $"The app '{id}' does not exist. See GET /v1/apps for this tenant's apps.", "model", "model_not_found");
        if (record.Live is not { } live || record.LiveVersion is not { } version)
        {
            throw new SovereignException(ErrorKind.NotFound,
                $"The app '{id}' has no published version yet; publish it with POST /v1/apps/{id}/publish (or `sov apps publish {id}`).", "model", "model_not_found");
        }
        if (language is not null && !live.Languages.Contains(language))
        {
            throw SovereignException.Invalid(
                $"The app '{id}' does not speak '{language}'; its languages are {string.Join(", ", live.Languages)}.", "model", "unsupported_language");
        }
        LogApplied(logger, id, version, live.Model);
        return new AppChat(id, version, live, language, AppPrompt.SystemPrompt(live, language));
    }

    private static ChatMessageInput SystemMessage(AppChat app) =>
        new() { Role = "system", Content = JsonSerializer.SerializeToElement(app.SystemPrompt) };

    [LoggerMessage(EventId = 6100, Level = LogLevel.Debug, Message = "Chat through app {AppId} version {Version} on model {Model}")]
    private static partial void LogApplied(ILogger logger, string appId, int version, string model);
}

/// <summary>The app a chat request runs through: its live version and the system prompt it gave the model. Immutable.</summary>
internal sealed record AppChat(string AppId, int Version, AppDefinition Definition, string? Language, string SystemPrompt);
