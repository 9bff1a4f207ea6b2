using System.Net;
using System.Text.Json.Nodes;
using Sovereign.Apps.Definitions;
using Sovereign.Apps.Templates;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Apps;

/// <summary>
/// Chatting through <c>model: "app:&lt;id&gt;"</c> with the real engine and the real tiny model: what the engine receives
/// is the app's model, its system prompt, its sampling defaults and its tools. (The tiny model's prose is not judged.)
/// </summary>
public sealed class AppChatTests : IClassFixture<AppChatTests.Fixture>
{
    private readonly AppsServer _server;

    public AppChatTests(Fixture fixture) => _server = fixture.Server;

    public sealed class Fixture : IAsyncLifetime
    {
        internal AppsServer Server { get; private set; } = null!;

        public async Task InitializeAsync() => Server = await AppsServer.StartAsync();

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    public static TheoryData<string> Templates => [.. AppTemplates.All.Select(t => t.Id)];

    private async Task<JsonNode> ChatAsync(string model, string content, string extra = "")
    {
        var (status, body) = await _server.Admin.PostJsonAsync("v1/chat/completions",
            $$"""{"model": "{{model}}", "messages": [{"role": "user", "content": {{JsonValue.Create(content).ToJsonString()}}}], "max_tokens": 6{{extra}}}""");
        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        return body;
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public async Task Every_template_runs_end_to_end_with_its_instructions_sampling_and_tools_applied(string template)
    {
        var id = "t-" + template;
        await _server.CreateFromTemplateAsync(template, id);
        var definition = AppTemplates.Instantiate(template, id, AppsServer.ChatModel);

        var answer = await ChatAsync($"app:{id}", definition.StarterQuestions[0]);

        Assert.False(string.IsNullOrEmpty(answer["choices"]![0]!["message"]!["content"]!.GetValue<string>()));
        Assert.IsType<JsonArray>(answer["citations"]); // answered through the knowledge feature (its bases are empty here)
        var request = _server.Engine.Last;
        Assert.Equal($"{AppsServer.ChatModel}:latest", request.Model);
        Assert.Equal(2, request.Messages!.Count);
        // The app's system prompt first, then the knowledge feature's retrieved passages after it.
        Assert.Equal("system", request.Messages[0].Role);
        Assert.StartsWith(AppPrompt.SystemPrompt(definition) + "\n\n", request.Messages[0].Content, StringComparison.Ordinal);
        Assert.Contains("<documents>", request.Messages[0].Content, StringComparison.Ordinal);
        Assert.Equal(("user", definition.StarterQuestions[0]), (request.Messages[1].Role, request.Messages[1].Content));
        // Its tools are offered to the model (the agent loop runs them; the tiny model calls none unforced).
        Assert.NotEmpty(definition.Tools);
        Assert.Equal(definition.Tools, AppToolChatTests.OfferedTools(request.Messages[0].Content));
        Assert.IsType<JsonArray>(answer["tool_steps"]);
        Assert.Equal(definition.Sampling!.Temperature, request.Sampling.Temperature);
        Assert.Equal(definition.Sampling.TopP, request.Sampling.TopP);
        Assert.Equal(6, request.MaxTokens); // the request's own max_tokens wins over the app's default

        // In Persian: the Persian instructions, the same defaults.
        await ChatAsync($"app:{id}:fa", definition.TextsFor("fa").StarterQuestions![0]);
        var persian = _server.Engine.Last.Messages![0].Content;
        Assert.StartsWith(AppPrompt.SystemPrompt(definition, "fa"), persian, StringComparison.Ordinal);
        Assert.StartsWith(definition.Translations!["fa"].Instructions!.Trim(), persian, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_apps_defaults_fill_only_what_the_request_leaves_unset()
    {
        var (created, body) = await _server.Admin.PostJsonAsync("v1/apps", """
            {"id": "defaults", "name": "Defaults", "model": "stories-chat", "instructions": "Be brief.",
             "sampling": {"temperature": 0.2, "top_p": 0.8, "max_tokens": 7, "seed": 42} }
            """);
        Assert.True(created == HttpStatusCode.Created, body.ToJsonString());
        await _server.Admin.PostJsonAsync("v1/apps/defaults/publish", "");

        var (status, _) = await _server.Admin.PostJsonAsync("v1/chat/completions",
            """{"model": "app:defaults", "messages": [{"role": "user", "content": "Margin?"}], "temperature": 1.5}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var request = _server.Engine.Last;
        Assert.Equal(1.5f, request.Sampling.Temperature);
        Assert.Equal(0.8f, request.Sampling.TopP);
        Assert.Equal(42u, request.Sampling.Seed);
        Assert.Equal(7, request.MaxTokens);
    }

    [Fact]
    public async Task Ollama_chat_runs_apps_too()
    {
        await _server.CreateFromTemplateAsync("agriculture-advisor", "farm-ollama");
        var definition = AppTemplates.Instantiate("agriculture-advisor", "farm-ollama", AppsServer.ChatModel);

        var (status, body) = await _server.Admin.PostJsonAsync("api/chat",
            """{"model": "app:farm-ollama", "stream": false, "messages": [{"role": "user", "content": "When do I plant wheat?"}], "options": {"num_predict": 5}}""");

        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        Assert.True(body["done"]!.GetValue<bool>());
        var request = _server.Engine.Last;
        Assert.StartsWith(AppPrompt.SystemPrompt(definition), request.Messages![0].Content, StringComparison.Ordinal);
        Assert.Equal(definition.Tools, AppToolChatTests.OfferedTools(request.Messages[0].Content));
        Assert.IsType<JsonArray>(body["tool_steps"]);
        Assert.Equal(definition.Sampling!.Temperature, request.Sampling.Temperature);
        Assert.Equal(definition.Sampling.TopP, request.Sampling.TopP);
    }

    [Fact]
    public async Task Usage_is_counted_under_the_app_a_request_names_even_with_a_key_not_bound_to_it()
    {
        await _server.CreateFromTemplateAsync("customer-support", "usage-desk");
        var (chat, _) = await _server.Admin.PostJsonAsync("v1/chat/completions",
            """{"model": "app:usage-desk", "messages": [{"role": "user", "content": "Where is my parcel?"}], "max_tokens": 4}""");
        var (ollama, _) = await _server.Admin.PostJsonAsync("api/chat",
            """{"model": "app:usage-desk", "stream": false, "messages": [{"role": "user", "content": "Where is my parcel?"}], "options": {"num_predict": 4}}""");
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (chat, ollama));

        var (status, usage) = await _server.Admin.GetJsonAsync("v1/usage?app_id=usage-desk");
        Assert.Equal(HttpStatusCode.OK, status);
        var records = usage["data"]!.AsArray();
        Assert.Equal(["ollama", "openai"], records.Select(r => r!["api"]!.GetValue<string>()).Order());
        Assert.All(records, r => Assert.Equal("usage-desk", r!["app_id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Personal_data_in_an_apps_inputs_is_masked_before_it_reaches_the_logs()
    {
        await _server.CreateFromTemplateAsync("customer-support", "masked-support");

        await ChatAsync("app:masked-support", "I am reza.karimi@example.com, phone 0912 345 6789, my parcel is late");

        var logged = _server.Logs.Messages.Where(m => m.Category.EndsWith("ChatCompletionsHandler", StringComparison.Ordinal) && m.Message.Contains("parcel is late", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(logged);
        Assert.All(logged, m =>
        {
            Assert.DoesNotContain("reza.karimi@example.com", m.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("345 6789", m.Message, StringComparison.Ordinal);
            Assert.Contains("[email]", m.Message, StringComparison.Ordinal);
            Assert.Contains("[phone]", m.Message, StringComparison.Ordinal);
        });
        // The model itself gets the message as written: masking is for the logs.
        Assert.Contains("reza.karimi@example.com", _server.Engine.Last.Messages![1].Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_app_or_language_is_a_clear_error()
    {
        var (unknown, body) = await _server.Admin.PostJsonAsync("v1/chat/completions", """{"model": "app:nope", "messages": [{"role": "user", "content": "hi"}]}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Http.AssertOpenAiError(body, "invalid_request_error", "model_not_found", "model");

        await _server.CreateFromTemplateAsync("customer-support", "lang-support");
        var (language, languageBody) = await _server.Admin.PostJsonAsync("v1/chat/completions", """{"model": "app:lang-support:de", "messages": [{"role": "user", "content": "hi"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, language);
        Assert.Contains("en, fa", languageBody["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
