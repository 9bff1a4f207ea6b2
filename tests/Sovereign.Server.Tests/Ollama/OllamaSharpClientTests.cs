using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;
using OllamaSharp.Models.Exceptions;
using Sovereign.Server.Tests.EndToEnd;

namespace Sovereign.Server.Tests.Ollama;

/// <summary>
/// The real Ollama client library (OllamaSharp 5.5.2) against the real server, runners and model: what a tool written
/// for Ollama does, it can do against Sovereign.
/// </summary>
[Collection(OllamaServerCollection.Name)]
public sealed class OllamaSharpClientTests(OllamaServerFixture fixture)
{
    private const string Model = SovereignTestServer.Model + ":latest";
    private const string ChatModel = SovereignTestServer.ChatModel + ":latest";

    [Fact]
    public async Task Version_is_an_ollama_version_string()
    {
        var version = await fixture.Client().GetVersionAsync();

        Assert.Matches(@"^\d+\.\d+\.\d+$", version);
    }

    [Fact]
    public async Task List_shows_every_model_with_ollamas_details()
    {
        var models = (await fixture.Client().ListLocalModelsAsync()).ToList();

        var stories = Assert.Single(models, m => m.Name == Model);
        Assert.Contains(models, m => m.Name == ChatModel);
        Assert.Equal(Model, stories.ModelName);
        Assert.Matches("^[0-9a-f]{64}$", stories.Digest);
        Assert.Equal(new FileInfo(TestModels.Stories260K).Length, stories.Size);
        Assert.True(stories.ModifiedAt > DateTime.UnixEpoch);
        Assert.Equal("gguf", stories.Details.Format);
        Assert.Equal("llama", stories.Details.Family);
        Assert.Equal(["llama"], stories.Details.Families!);
        Assert.EndsWith("K", stories.Details.ParameterSize, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(stories.Details.QuantizationLevel));
    }

    [Fact]
    public async Task Show_describes_the_model_from_its_gguf_header()
    {
        var show = await fixture.Client().ShowModelAsync(SovereignTestServer.ChatModel);

        Assert.Equal("llama", show.Info.Architecture);
        Assert.True(show.Info.ParameterCount > 0);
        Assert.True(show.Info.ExtraInfo!.ContainsKey("llama.context_length"));
        Assert.Equal("llama", show.Details.Family);
        Assert.Contains("FROM stories-chat:latest", show.Modelfile, StringComparison.Ordinal);
        Assert.Contains("num_ctx", show.Parameters, StringComparison.Ordinal);
        Assert.Equal("chatml", show.Template);
        Assert.Contains("completion", show.Capabilities!);
    }

    [Fact]
    public async Task Show_of_an_unknown_model_fails_with_ollamas_message()
    {
        var error = await Assert.ThrowsAnyAsync<HttpRequestException>(() => fixture.Client().ShowModelAsync("no-such-model"));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Generate_streams_tokens_then_a_done_object_with_counts_and_timings()
    {
        var client = fixture.Client();
        var request = new GenerateRequest
        {
            Model = SovereignTestServer.Model,
            Prompt = "Once upon a time",
            Options = new RequestOptions { Temperature = 0, NumPredict = 12 },
        };

        var pieces = new List<GenerateResponseStream>();
        await foreach (var piece in client.GenerateAsync(request)) pieces.Add(piece!);

        var done = Assert.IsType<GenerateDoneResponseStream>(pieces[^1]);
        Assert.All(pieces[..^1], p => Assert.False(p.Done));
        // At least one piece of text before the done object. Not more: stories260K makes its 12 tokens in a few
        // milliseconds, and tokens that queue up while the server is busy go out as one piece (a loaded CI machine
        // once sent them all in one).
        Assert.True(pieces.Count >= 2, $"{pieces.Count} pieces");
        Assert.All(pieces[..^1], p => Assert.False(string.IsNullOrEmpty(p.Response)));
        Assert.Equal("length", done.DoneReason);
        Assert.Equal(12, done.EvalCount);
        Assert.True(done.PromptEvalCount > 0);
        Assert.True(done.TotalDuration >= done.EvalDuration && done.EvalDuration > 0);
        Assert.True(done.LoadDuration > 0);
        var text = string.Concat(pieces.Select(p => p.Response));
        // The model's README: greedy "Once upon a time" continues with a story about a girl named Lily.
        Assert.Contains("Lily", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_without_streaming_answers_once_with_the_whole_text()
    {
        var client = fixture.Client();
        var request = new GenerateRequest
        {
            Model = SovereignTestServer.Model,
            Prompt = "Once upon a time",
            Stream = false,
            Options = new RequestOptions { Temperature = 0, NumPredict = 12 },
        };

        var pieces = new List<GenerateResponseStream>();
        await foreach (var piece in client.GenerateAsync(request)) pieces.Add(piece!);

        var done = Assert.IsType<GenerateDoneResponseStream>(Assert.Single(pieces));
        Assert.Contains("Lily", done.Response, StringComparison.Ordinal);
        Assert.Equal(12, done.EvalCount);
    }

    [Fact]
    public async Task Streamed_and_whole_generations_agree_when_greedy()
    {
        var client = fixture.Client();
        GenerateRequest Request(bool stream) => new()
        {
            Model = SovereignTestServer.Model,
            Prompt = "The little dog",
            Stream = stream,
            Options = new RequestOptions { Temperature = 0, NumPredict = 10, Seed = 7 },
        };

        var streamed = await client.GenerateAsync(Request(true)).StreamToEndAsync();
        var whole = await client.GenerateAsync(Request(false)).StreamToEndAsync();

        Assert.Equal(whole!.Response, streamed!.Response);
    }

    [Fact]
    public async Task Chat_streams_an_assistant_message()
    {
        var client = fixture.Client();
        var request = new ChatRequest
        {
            Model = SovereignTestServer.ChatModel,
            Messages = [new Message(ChatRole.System, "You tell stories."), new Message(ChatRole.User, "Tell me a story")],
            Options = new RequestOptions { Temperature = 0, NumPredict = 10 },
        };

        var pieces = new List<ChatResponseStream>();
        await foreach (var piece in client.ChatAsync(request)) pieces.Add(piece!);

        var done = Assert.IsType<ChatDoneResponseStream>(pieces[^1]);
        Assert.Equal(ChatRole.Assistant, pieces[0].Message.Role);
        Assert.False(string.IsNullOrEmpty(string.Concat(pieces.Select(p => p.Message.Content))));
        Assert.Equal("length", done.DoneReason);
        Assert.Equal(10, done.EvalCount);
        Assert.True(done.PromptEvalCount > 0);
    }

    [Fact]
    public async Task Chat_without_streaming_answers_once()
    {
        var client = fixture.Client();
        var request = new ChatRequest
        {
            Model = SovereignTestServer.ChatModel,
            Messages = [new Message(ChatRole.User, "Tell me a story")],
            Stream = false,
            Options = new RequestOptions { Temperature = 0, NumPredict = 8 },
        };

        var pieces = new List<ChatResponseStream>();
        await foreach (var piece in client.ChatAsync(request)) pieces.Add(piece!);

        var done = Assert.IsType<ChatDoneResponseStream>(Assert.Single(pieces));
        Assert.Equal(ChatRole.Assistant, done.Message.Role);
        Assert.False(string.IsNullOrEmpty(done.Message.Content));
        Assert.Equal(8, done.EvalCount);
    }

    [Fact]
    public async Task Ps_lists_a_loaded_model_with_its_size_and_expiry()
    {
        var client = fixture.Client();
        await client.GenerateAsync(new GenerateRequest
        {
            Model = SovereignTestServer.Model, Prompt = "Once", Options = new RequestOptions { NumPredict = 2 }, KeepAlive = "10m",
        }).StreamToEndAsync();

        var running = Assert.Single((await client.ListRunningModelsAsync()).ToList(), m => m.Name == Model);

        Assert.True(running.Size > 0);
        Assert.Equal(0, running.SizeVram);
        Assert.Matches("^[0-9a-f]{64}$", running.Digest);
        Assert.Equal("llama", running.Details.Family);
        Assert.True(running.ContextLength > 0);
        var expiresIn = running.ExpiresAt.ToUniversalTime() - DateTime.UtcNow;
        Assert.InRange(expiresIn, TimeSpan.FromMinutes(8), TimeSpan.FromMinutes(10.5));
    }

    [Fact]
    public async Task Unload_request_removes_the_model_from_ps()
    {
        var client = fixture.Client();
        client.SelectedModel = ChatModel;
        await client.ChatAsync(new ChatRequest
        {
            Model = ChatModel, Messages = [new Message(ChatRole.User, "Hi")], Options = new RequestOptions { NumPredict = 2 },
        }).StreamToEndAsync();
        Assert.Contains(await client.ListRunningModelsAsync(), m => m.Name == ChatModel);

        // OllamaSharp sends /api/generate with no prompt and keep_alive "0s".
        await client.RequestModelUnloadAsync(ChatModel);

        Assert.DoesNotContain(await client.ListRunningModelsAsync(), m => m.Name == ChatModel);
    }

    [Fact]
    public async Task Copy_makes_a_second_name_that_generates_and_delete_removes_it()
    {
        var client = fixture.Client();
        const string copy = "stories-copy:v1";

        await client.CopyModelAsync(SovereignTestServer.Model, copy);
        var models = (await client.ListLocalModelsAsync()).ToList();
        var original = Assert.Single(models, m => m.Name == Model);
        var copied = Assert.Single(models, m => m.Name == copy);
        Assert.Equal(original.Digest, copied.Digest);
        var done = await client.GenerateAsync(new GenerateRequest
        {
            Model = copy, Prompt = "Once upon a time", Options = new RequestOptions { Temperature = 0, NumPredict = 3 },
        }).StreamToEndAsync();
        Assert.Equal(3, done!.EvalCount);

        await client.DeleteModelAsync(copy);

        Assert.DoesNotContain(await client.ListLocalModelsAsync(), m => m.Name == copy);
        Assert.DoesNotContain(await client.ListRunningModelsAsync(), m => m.Name == copy);
        // The blob is shared: the original still works.
        Assert.Contains(await client.ListLocalModelsAsync(), m => m.Name == Model);
        Assert.True(File.Exists(Path.Combine(fixture.Server.Home, "models", "blobs", "sha256-" + original.Digest)));
    }

    [Fact]
    public async Task Deleting_an_unknown_model_fails()
    {
        var error = await Assert.ThrowsAnyAsync<HttpRequestException>(() => fixture.Client().DeleteModelAsync("no-such-model"));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task A_bad_option_surfaces_as_an_ollama_exception_with_the_servers_message()
    {
        var request = new GenerateRequest
        {
            Model = SovereignTestServer.Model, Prompt = "Hi", Stream = false, Options = new RequestOptions { Temperature = 7 },
        };

        var error = await Assert.ThrowsAsync<OllamaException>(async () =>
        {
            await foreach (var _ in fixture.Client().GenerateAsync(request))
            {
            }
        });

        Assert.Contains("options.temperature", error.Message, StringComparison.Ordinal);
    }
}
