using System.Net.Http.Headers;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Exceptions;
using Sovereign.Models.Store;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Ollama;

/// <summary>/api/pull with the real puller: OllamaSharp on node B pulls from node A (two real servers on 127.0.0.1).</summary>
public sealed class OllamaPullTests : IAsyncLifetime
{
    private TestHost _a = null!;
    private TestHost _b = null!;
    private OllamaApiClient _client = null!;

    public async Task InitializeAsync()
    {
        _a = await TestHost.StartAsync();
        await _a.ImportModelAsync("stories");
        var (_, mirrorKey) = await _a.CreateKeyAsync("node-b", "mirror");
        _b = await TestHost.StartAsync(settings: [$"--Sovereign:Mirrors={_a.Address}", $"--Sovereign:MirrorKey={mirrorKey}"]);
        var http = _b.AdminClient();
        _client = new OllamaApiClient(http);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _b.DisposeAsync();
        await _a.DisposeAsync();
    }

    [Fact]
    public async Task Pull_streams_progress_and_the_model_is_then_listed()
    {
        var reports = new List<PullModelResponse>();
        await foreach (var report in _client.PullModelAsync("stories")) reports.Add(report!);

        Assert.Equal("success", reports[^1].Status);
        Assert.Contains(reports, r => r.Total > 0 && r.Completed == r.Total && r.Digest is not null);
        var model = Assert.Single(await _client.ListLocalModelsAsync());
        Assert.Equal("stories:latest", model.Name);
        Assert.Equal(new FileInfo(TestFiles.Stories260K).Length, model.Size);
    }

    [Fact]
    public async Task Pulling_a_model_no_mirror_has_fails_with_the_pullers_message()
    {
        // The puller reports "pulling manifest" before it learns the model is nowhere: the error comes as an {"error"} line.
        var error = await Assert.ThrowsAsync<ResponseError>(async () =>
        {
            await foreach (var _ in _client.PullModelAsync("no-such-model"))
            {
            }
        });

        Assert.Contains("no-such-model", error.Message, StringComparison.Ordinal);
        Assert.Null(new FileModelStore(_b.Paths).Find("no-such-model"));
    }

    [Fact]
    public async Task Pull_needs_the_admin_scope()
    {
        var (_, key) = await _b.CreateKeyAsync("app", "inference");
        using var http = _b.Client(key);

        using var response = await http.PostAsync("api/pull", new StringContent("{\"model\":\"stories\"}", new MediaTypeHeaderValue("application/json")));

        Assert.Equal(System.Net.HttpStatusCode.Forbidden, response.StatusCode);
    }
}
