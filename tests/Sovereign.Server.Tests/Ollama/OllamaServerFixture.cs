using System.Net.Http.Headers;
using OllamaSharp;
using Sovereign.Server.Tests.EndToEnd;

namespace Sovereign.Server.Tests.Ollama;

/// <summary>
/// One real server for the Ollama API tests: real Kestrel on 127.0.0.1, real runner processes, the real stories260K
/// model imported as "stories" (raw) and "stories-chat" (chatml template), see <see cref="SovereignTestServer"/>.
/// </summary>
public sealed class OllamaServerFixture : IAsyncLifetime
{
    private readonly List<IDisposable> _clients = [];

    public SovereignTestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await SovereignTestServer.StartAsync("--Sovereign:Engine:Slots=4");

    /// <summary>The real OllamaSharp client, through an HttpClient that carries the admin key as Bearer.</summary>
    public OllamaApiClient Client()
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
public sealed class OllamaServerCollection : ICollectionFixture<OllamaServerFixture>
{
    public const string Name = "ollama server";
}
