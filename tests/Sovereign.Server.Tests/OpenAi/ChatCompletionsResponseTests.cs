using System.ClientModel;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Server.Tests.Infrastructure;
using ChatMessage = OpenAI.Chat.ChatMessage;

namespace Sovereign.Server.Tests.OpenAi;

/// <summary>
/// What the chat endpoint sends for what the engine yields, with a scripted engine in place of runner processes
/// (generation itself is covered end to end elsewhere). Both a raw HttpClient and the official OpenAI SDK read it.
/// </summary>
public sealed class ChatCompletionsResponseTests
{
    private static async Task<TestHost> StartAsync(ScriptedInference engine)
    {
        var host = await TestHost.StartAsync(inference: engine);
        await host.ImportModelAsync("stories");
        return host;
    }

    private static OpenAIClient Sdk(TestHost host) =>
        new(new ApiKeyCredential(TestHost.ConfiguredAdminKey), new OpenAIClientOptions { Endpoint = new Uri(host.Address, "v1") });

    [Fact]
    public async Task A_request_is_mapped_to_the_engine_with_the_stores_name_and_every_setting()
    {
        var engine = new ScriptedInference(ScriptedInference.Story(FinishReason.Stop, "ok"));
        await using var host = await StartAsync(engine);

        var (status, body) = await host.AdminClient().PostJsonAsync("v1/chat/completions", """
            {"model":"stories","messages":[
               {"role":"developer","content":"Be brief."},
               {"role":"user","content":[{"type":"text","text":"Once"},{"type":"text","text":"upon"}]},
               {"role":"assistant","content":null},
               {"role":"user","content":"a time"}],
             "max_completion_tokens":20,"temperature":0.5,"top_p":0.9,"seed":42,"stop":"\n\n",
             "presence_penalty":0.1,"frequency_penalty":0.2,"top_k":40,"min_p":0.05,"repeat_penalty":1.1,"n":1,
             "user":"ignored","logit_bias":{}}
            """);

        Assert.Equal(HttpStatusCode.OK, status);
        var request = Assert.Single(engine.Requests);
        Assert.Equal(body["id"]!.GetValue<string>(), request.Id);
        Assert.Equal("stories:latest", request.Model);
        Assert.Null(request.Prompt);
        Assert.Equal(
            [new("system", "Be brief."), new("user", "Once\nupon"), new("assistant", ""), new Sovereign.Core.Generation.ChatMessage("user", "a time")],
            request.Messages!);
        Assert.Equal(20, request.MaxTokens);
        Assert.Equal(["\n\n"], request.Stop);
        Assert.Equal(new SamplingParameters
        {
            Temperature = 0.5f, TopP = 0.9f, Seed = 42, PresencePenalty = 0.1f, FrequencyPenalty = 0.2f, TopK = 40, MinP = 0.05f, RepeatPenalty = 1.1f,
        }, request.Sampling);
    }

    [Fact]
    public async Task A_plain_request_keeps_the_engines_defaults()
    {
        var engine = new ScriptedInference(ScriptedInference.Story(FinishReason.Stop, "ok"));
        await using var host = await StartAsync(engine);

        var (status, _) = await host.AdminClient().PostJsonAsync("v1/chat/completions", """{"model":"stories:latest","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var request = Assert.Single(engine.Requests);
        Assert.Null(request.MaxTokens);
        Assert.Empty(request.Stop);
        Assert.Equal(new SamplingParameters(), request.Sampling);
    }

    [Fact]
    public async Task A_non_streamed_answer_has_OpenAIs_exact_shape()
    {
        await using var host = await StartAsync(new ScriptedInference(ScriptedInference.Story(FinishReason.Length, "Once", " upon")));

        var (status, body) = await host.AdminClient().PostJsonAsync("v1/chat/completions", """{"model":"stories","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["id", "object", "created", "model", "choices", "usage", "system_fingerprint"], body.AsObject().Select(p => p.Key));
        Assert.StartsWith("chatcmpl-", body["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("chat.completion", body["object"]!.GetValue<string>());
        Assert.Equal("stories:latest", body["model"]!.GetValue<string>());
        Assert.StartsWith("fp_", body["system_fingerprint"]!.GetValue<string>(), StringComparison.Ordinal);
        var choice = Assert.Single(body["choices"]!.AsArray())!;
        Assert.Equal(0, choice["index"]!.GetValue<int>());
        Assert.Equal("assistant", choice["message"]!["role"]!.GetValue<string>());
        Assert.Equal("Once upon", choice["message"]!["content"]!.GetValue<string>());
        Assert.Equal("length", choice["finish_reason"]!.GetValue<string>());
        Assert.True(choice.AsObject().ContainsKey("logprobs"));
        Assert.Null(choice["logprobs"]);
        Assert.Equal(7, body["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(2, body["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal(9, body["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_streamed_answer_is_server_sent_events_in_OpenAIs_order()
    {
        await using var host = await StartAsync(new ScriptedInference(ScriptedInference.Story(FinishReason.Stop, "Once", " upon")));

        using var response = await host.AdminClient().PostAsync("v1/chat/completions", Http.Json(
            """{"model":"stories","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!).ToArray();
        Assert.Equal(5, chunks.Length);
        Assert.Single(chunks.Select(c => c["id"]!.GetValue<string>()).Distinct());
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c["object"]!.GetValue<string>()));

        Assert.Equal("""{"role":"assistant","content":""}""", chunks[0]["choices"]![0]!["delta"]!.ToJsonString());
        Assert.Equal("Once", chunks[1]["choices"]![0]!["delta"]!["content"]!.GetValue<string>());
        Assert.Equal(" upon", chunks[2]["choices"]![0]!["delta"]!["content"]!.GetValue<string>());
        Assert.Null(chunks[2]["choices"]![0]!["finish_reason"]);
        Assert.Equal("{}", chunks[3]["choices"]![0]!["delta"]!.ToJsonString());
        Assert.Equal("stop", chunks[3]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Empty(chunks[4]["choices"]!.AsArray());
        Assert.Equal(9, chunks[4]["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_OpenAI_SDK_reads_a_whole_answer()
    {
        await using var host = await StartAsync(new ScriptedInference(ScriptedInference.Story(FinishReason.Stop, "Once", " upon", " a time")));

        ChatCompletion completion = await Sdk(host).GetChatClient("stories").CompleteChatAsync(
            [new SystemChatMessage("Tell a story."), new UserChatMessage("Go")], new ChatCompletionOptions { Temperature = 0.2f, MaxOutputTokenCount = 12 });

        Assert.Equal("Once upon a time", completion.Content.Single().Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal("stories:latest", completion.Model);
        Assert.Equal(3, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task The_OpenAI_SDK_reads_a_stream()
    {
        await using var host = await StartAsync(new ScriptedInference(ScriptedInference.Story(FinishReason.Length, "Once", " upon", " a time")));

        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in Sdk(host).GetChatClient("stories").CompleteChatStreamingAsync([ChatMessage.CreateUserMessage("Go")]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("Once upon a time", text.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.Equal(3, usage?.OutputTokenCount);
    }

    [Fact]
    public async Task A_full_queue_is_429_with_retry_after_from_the_engine()
    {
        var engine = new ScriptedInference((_, _) => Throw(new SovereignException(ErrorKind.RateLimited, "The queue for stories:latest is full.", code: "queue_full")
        {
            RetryAfter = TimeSpan.FromSeconds(2.5),
        }));
        await using var host = await StartAsync(engine);

        using var response = await host.AdminClient().PostAsync("v1/chat/completions", Http.Json(
            """{"model":"stories","messages":[{"role":"user","content":"hi"}],"stream":true}"""));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), response.Headers.RetryAfter?.Delta);
        Http.AssertOpenAiError(await Http.BodyAsync(response), "rate_limit_error", "queue_full");
    }

    [Fact]
    public async Task An_engine_that_is_unavailable_is_503_with_retry_after()
    {
        await using var host = await StartAsync(new ScriptedInference((_, _) => Throw(new SovereignException(ErrorKind.Unavailable, "Loading failed."))));

        using var response = await host.AdminClient().PostAsync("v1/chat/completions", Http.Json("""{"model":"stories","messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
        Http.AssertOpenAiError(await Http.BodyAsync(response), "service_unavailable");
    }

    [Fact]
    public async Task A_failure_as_the_first_event_of_a_stream_is_an_ordinary_http_error()
    {
        await using var host = await StartAsync(new ScriptedInference(new GenerationEvent.Failed(ErrorKind.InvalidRequest, "The prompt is 9000 tokens; the context holds 2048.", "context_length_exceeded")));

        var (status, body) = await host.AdminClient().PostJsonAsync("v1/chat/completions", """{"model":"stories","messages":[{"role":"user","content":"hi"}],"stream":true}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "context_length_exceeded");
    }

    [Fact]
    public async Task A_failure_in_the_middle_of_a_stream_is_reported_in_band_then_done()
    {
        await using var host = await StartAsync(new ScriptedInference(
            new GenerationEvent.Started(3), new GenerationEvent.TextDelta("Once", 1), new GenerationEvent.Failed(ErrorKind.Unavailable, "The runner for stories:latest exited.", "runner_crashed")));

        using var response = await host.AdminClient().PostAsync("v1/chat/completions", Http.Json("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"stream":true}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var error = JsonNode.Parse(events[^2]["data: ".Length..])!;
        Http.AssertOpenAiError(error, "service_unavailable", "runner_crashed");
    }

    [Fact]
    public async Task An_unexpected_engine_exception_is_500_without_its_details()
    {
        await using var host = await StartAsync(new ScriptedInference((_, _) => Throw(new InvalidOperationException("secret internal detail"))));

        var (status, body) = await host.AdminClient().PostJsonAsync("v1/chat/completions", """{"model":"stories","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        var error = Http.AssertOpenAiError(body, "server_error");
        Assert.DoesNotContain("secret", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_disconnects_cancels_its_generation()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(new ScriptedInference((_, ct) =>
        {
            ct.Register(() => cancelled.TrySetResult());
            return Endless(ct);
        }));

        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = Http.Json("""{"model":"stories","messages":[{"role":"user","content":"hi"}],"stream":true}"""),
        };
        using (var response = await host.AdminClient().SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line && !line.Contains("\"x\"", StringComparison.Ordinal))
            {
            }
        }

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(15));
    }

    private static async IAsyncEnumerable<GenerationEvent> Endless([EnumeratorCancellation] CancellationToken ct)
    {
        yield return new GenerationEvent.Started(1);
        while (true)
        {
            yield return new GenerationEvent.TextDelta("x", 1);
            await Task.Delay(10, ct);
        }
    }

#pragma warning disable CS1998 // an iterator that throws before its first event, as the engine does for a refused request
    private static async IAsyncEnumerable<GenerationEvent> Throw(Exception e)
    {
        throw e;
#pragma warning disable CS0162
        yield break;
#pragma warning restore CS0162
    }
#pragma warning restore CS1998
}
