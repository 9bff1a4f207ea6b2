using System.Net.Http.Headers;
using OllamaSharp;
using OpenAI.Embeddings;
using Sovereign.Server.Tests.EndToEnd;

namespace Sovereign.Server.Tests.Embeddings;

/// <summary>
/// One real server for the embeddings tests: real Kestrel on 127.0.0.1, the built-in MiniLM model in-process, and
/// stories260K imported as "stories" for the GGUF path through a real runner process.
/// </summary>
public sealed class EmbeddingsServerFixture : IAsyncLifetime
{
    private readonly List<IDisposable> _clients = [];

    public SovereignTestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await SovereignTestServer.StartAsync("--Sovereign:Embeddings:MaxInputs=16");

    public EmbeddingClient OpenAi(string model = "all-minilm") => Server.OpenAI().GetEmbeddingClient(model);

    /// <summary>The real OllamaSharp client, through an HttpClient that carries the admin key as Bearer.</summary>
    public OllamaApiClient Ollama()
    {
        var http = new HttpClient { BaseAddress = Server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", SovereignTestServer.AdminKey);
        var client = new OllamaApiClient(http);
        lock (_clients)
        {
            _clients.Add(client);
            _clients.Add(http);
        }
        return client;
    }

    public async Task DisposeAsync()
    {
        lock (_clients)
        {
            foreach (var client in _clients) client.Dispose();
        }
        await Server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class EmbeddingsServerCollection : ICollectionFixture<EmbeddingsServerFixture>
{
    public const string Name = "embeddings server";
}

internal static class Vectors
{
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = 0f;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
