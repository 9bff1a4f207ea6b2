using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Core.Generation;
using Sovereign.Core.Options;

namespace Sovereign.Server.OpenAi;

/// <summary><c>POST /v1/completions</c> (raw text completion) in OpenAI's wire format.</summary>
internal static class CompletionsApi
{
    public static IEndpointRouteBuilder MapCompletionsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/completions", (HttpContext context, CompletionsHandler handler) => handler.HandleAsync(context))
            .WithName("CreateCompletion");
        return app;
    }
}

/// <summary>Validates, maps and answers a text completion request. Thread-safe.</summary>
internal sealed class CompletionsHandler(GenerationResponder responder, IOptions<SovereignOptions> options, ILogger<CompletionsHandler> logger)
{
    /// <summary>OpenAI's default max_tokens for /v1/completions.</summary>
    public const int DefaultMaxTokens = 16;

    public async Task HandleAsync(HttpContext context)
    {
        // :: Step 1: parse.
        var body = await JsonBody.ReadAsync(context.Request, ServerJsonContext.Default.CompletionRequest);

        // :: Step 2: check everything.
        var limits = options.Value.Limits;
        var problems = new RequestProblems();
        if (string.IsNullOrWhiteSpace(body.Model)) problems.Missing("model");
        var prompt = MapPrompt(body.Prompt, problems);
        var sampling = SamplingRequestMapper.Sampling(body, problems);
        var maxTokens = SamplingRequestMapper.MaxTokens(body.MaxTokens ?? DefaultMaxTokens, "max_tokens", limits, problems);
        var stop = SamplingRequestMapper.Stop(body.Stop, limits, problems);
        SamplingRequestMapper.CheckShared(body, problems);
        if (body.Echo == true) problems.Unsupported("echo", "echo is not supported by this server.");
        if (body.BestOf is { } bestOf && bestOf != 1) problems.Unsupported("best_of", $"best_of must be 1: this server generates one completion per request (got {bestOf}).");
        if (body.Logprobs is { } logprobs && logprobs > 0) problems.Unsupported("logprobs", "logprobs are not supported by this server yet.");
        if (!string.IsNullOrEmpty(body.Suffix)) problems.Unsupported("suffix", "suffix (fill-in-the-middle) is not supported by this server.");
        if (prompt is not null) SamplingRequestMapper.CheckPromptLength(prompt.Length, "prompt", limits, problems);
        var grammar = StructuredOutput.FromRawGrammar(body.Grammar, StructuredOutput.FromResponseFormat(body.ResponseFormat, problems), problems);
        problems.ThrowIfAny();

        // :: Step 3: the model.
        var manifest = await responder.ResolveModelAsync(body.Model!, context.RequestAborted);

        // :: Step 4: map and answer.
        var format = new TextResponseFormat(ResponseFormat.NewId(TextResponseFormat.IdPrefix), responder.Now(), manifest.Reference,
            ResponseFormat.FingerprintOf(manifest.Digest));
        var request = new GenerationRequest
        {
            Id = format.Id,
            Model = manifest.Reference,
            Prompt = prompt!,
            MaxTokens = maxTokens,
            Stop = stop,
            Sampling = sampling,
            IgnoreEos = body.IgnoreEos == true,
            Grammar = grammar,
        };
        if (logger.IsEnabled(LogLevel.Trace)) logger.CompletionPromptText(request.Id, prompt!);
        await responder.RespondAsync(context, request, format, body.Stream == true, SamplingRequestMapper.IncludeUsage(body));
    }

    /// <summary>A string, or an array holding exactly one string. Token arrays and batches are refused.</summary>
    internal static string? MapPrompt(JsonElement? prompt, RequestProblems problems)
    {
        if (prompt is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            problems.Missing("prompt");
            return null;
        }
        if (element.ValueKind == JsonValueKind.String) return element.GetString()!;
        if (element.ValueKind == JsonValueKind.Array)
        {
            if (element.GetArrayLength() == 1 && element[0].ValueKind == JsonValueKind.String) return element[0].GetString()!;
            if (element.GetArrayLength() > 0 && element[0].ValueKind is JsonValueKind.Number or JsonValueKind.Array)
            {
                problems.Unsupported("prompt", "Prompts given as token ids are not supported; send the prompt as text.");
                return null;
            }
            problems.Unsupported("prompt", $"prompt must be a string or an array of exactly one string (batched prompts are not supported; got {element.GetArrayLength()} items).");
            return null;
        }
        problems.Add("prompt", "Invalid type for 'prompt': expected a string.", "invalid_type");
        return null;
    }
}
