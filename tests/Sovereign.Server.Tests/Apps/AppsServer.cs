using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Generation;
using Sovereign.Inference.Hosting;
using Sovereign.Models.Store;
using Sovereign.Server.Tests.Infrastructure;
using Sovereign.TestSupport.Models;

namespace Sovereign.Server.Tests.Apps;

/// <summary>
/// The real server with the real engine and the real tiny model imported as "stories-chat" (with the chatml template,
/// since it has none). Every request the engine receives is recorded on its way in, so a test can see the prompt an app
/// produced; prompt text logged at Trace by the chat handlers is captured too.
/// </summary>
/// <remarks>
/// The templates' instructions run to a few thousand tokens in the tiny model's 512-token vocabulary (Persian, in
/// byte pieces, twice that), beyond the 2048 its header declares and the engine honours. So the server gets a copy of
/// the real file in its temporary folder whose header declares 16384 tokens: same weights and tokenizer, read by the
/// real llama.cpp. (The model was trained on 512-token windows anyway; its prose is not judged here.)
/// </remarks>
internal sealed class AppsServer : IAsyncDisposable
{
    public const string ChatModel = "stories-chat";

    private readonly string _home;

    private AppsServer(TestHost host, string home, RecordingInference engine, CapturingLogs logs)
    {
        _home = home;
        Host = host;
        Engine = engine;
        Logs = logs;
        Admin = host.AdminClient();
        Admin.Timeout = TimeSpan.FromMinutes(2);
    }

    public TestHost Host { get; }
    public RecordingInference Engine { get; }
    public CapturingLogs Logs { get; }
    public HttpClient Admin { get; }

    /// <param name="settings">More configuration for the server (command-line form), e.g. MCP servers.</param>
    public static async Task<AppsServer> StartAsync(params string[] settings)
    {
        var home = TestHost.NewHome();
        var wide = Path.Combine(home, "stories260K-16k.gguf");
        TestModelFiles.WriteWithContextLength(TestFiles.Stories260K, wide, 16384);
        await new FileModelStore(new Core.Options.SovereignPaths(home)).ImportAsync(wide, ModelName.Parse(ChatModel), "chatml");
        File.Delete(wide);
        RecordingInference? engine = null;
        var logs = new CapturingLogs();
        try
        {
            var host = await TestHost.StartAsync(home: home, settings:
                [
                    "--Sovereign:Engine:ContextSize=16384",
                    "--Sovereign:Engine:Slots=2",
                    "--Logging:LogLevel:Sovereign.Server.OpenAi.ChatCompletionsHandler=Trace",
                    "--Logging:LogLevel:Sovereign.Server.Ollama.OllamaGenerationHandler=Trace",
                    .. settings,
                ],
                configure: b =>
                {
                    b.Logging.AddProvider(logs);
                    b.Services.AddSingleton<IInferenceService>(sp => engine = new RecordingInference(sp.GetRequiredService<ModelManager>()));
                });
            _ = host.Services.GetRequiredService<IInferenceService>();
            return new AppsServer(host, home, engine!, logs);
        }
        catch
        {
            TestHost.TryDelete(home);
            throw;
        }
    }

    /// <summary>
    /// Creates an app from a template on the tiny model, with the template's own knowledge bases (created empty here when
    /// missing) unless others are given, and publishes it.
    /// </summary>
    public async Task<JsonNode> CreateFromTemplateAsync(string template, string id, IReadOnlyList<string>? knowledgeBases = null, bool publish = true)
    {
        foreach (var kb in knowledgeBases ?? Sovereign.Apps.Templates.AppTemplates.Find(template)!.Knowledge!.Bases) await EnsureKnowledgeBaseAsync(kb);
        object body = knowledgeBases is null
            ? new { from_template = template, id, model = ChatModel }
            : new { from_template = template, id, model = ChatModel, knowledge_bases = knowledgeBases };
        var created = await Admin.PostAsJsonAsync("v1/apps", body);
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        if (!publish) return await Http.BodyAsync(created);
        var published = await Admin.PostAsync($"v1/apps/{id}/publish", null);
        Assert.True(published.IsSuccessStatusCode, await published.Content.ReadAsStringAsync());
        return await Http.BodyAsync(published);
    }

    /// <summary>Creates an (empty) knowledge base through the knowledge API unless it exists.</summary>
    public async Task EnsureKnowledgeBaseAsync(string name)
    {
        using var response = await Admin.PostAsJsonAsync("v1/knowledge", new { name });
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK or HttpStatusCode.Conflict, await response.Content.ReadAsStringAsync());
    }


    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        TestHost.TryDelete(_home);
    }
}

/// <summary>The real engine, with every request recorded before it goes in. Thread-safe.</summary>
internal sealed class RecordingInference(IInferenceService inner) : IInferenceService
{
    private readonly ConcurrentQueue<GenerationRequest> _requests = new();

    public IReadOnlyList<GenerationRequest> Requests => [.. _requests];

    public GenerationRequest Last => _requests.Last();

    public string Backend => inner.Backend;

    public IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken)
    {
        _requests.Enqueue(request);
        return inner.GenerateAsync(request, cancellationToken);
    }

    public IReadOnlyList<LoadedModelInfo> Loaded() => inner.Loaded();

    public Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default) => inner.UnloadAsync(model, cancellationToken);

    public Task<LoadedModelInfo> LoadAsync(string model, TimeSpan? keepAlive = null, CancellationToken cancellationToken = default) =>
        inner.LoadAsync(model, keepAlive, cancellationToken);
}

/// <summary>Every log message with its category. Thread-safe.</summary>
internal sealed class CapturingLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, string Message)> _messages = new();

    public IReadOnlyList<(string Category, string Message)> Messages => [.. _messages];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _messages);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(string, string)> messages) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            messages.Enqueue((category, formatter(state, exception)));
    }
}
