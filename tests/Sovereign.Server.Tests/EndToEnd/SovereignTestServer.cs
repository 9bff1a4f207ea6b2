using System.ClientModel;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using Sovereign.Core.Options;
using Sovereign.Models.Store;

namespace Sovereign.Server.Tests.EndToEnd;

/// <summary>
/// The real server on 127.0.0.1 with a random port and a temporary data folder, with the real stories260K model
/// imported twice: as "stories" (raw completions) and as "stories-chat" (with the chatml template override,
/// since the model has none of its own). Models run in real runner processes.
/// </summary>
public class SovereignTestServer : IAsyncDisposable
{
    public const string AdminKey = "sov-test-admin-key-0123456789abcdef";
    public const string Model = "stories";
    public const string ChatModel = "stories-chat";

    private readonly WebApplication _app;

    private SovereignTestServer(WebApplication app, string home, Uri baseAddress)
    {
        _app = app;
        Home = home;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
    }

    public string Home { get; }
    public Uri BaseAddress { get; }
    /// <summary>The server's services, for looking at its model manager.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>An HttpClient with the admin key, for raw wire-format checks.</summary>
    public HttpClient Http { get; }

    public static async Task<SovereignTestServer> StartAsync(params string[] settings)
    {
        var home = Path.Combine(Path.GetTempPath(), "sov-e2e-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(home);
        var store = new FileModelStore(new SovereignPaths(home));
        await store.ImportAsync(TestModels.Stories260K, ModelName.Parse(Model));
        await store.ImportAsync(TestModels.Stories260K, ModelName.Parse(ChatModel), "chatml");

        string[] args = ["--urls", "http://127.0.0.1:0", $"--Sovereign:Home={home}", $"--Sovereign:AdminKey={AdminKey}",
            "--Logging:LogLevel:Default=Warning", .. settings];
        var app = SovereignServer.Build(args);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SovereignTestServer(app, home, new Uri(address.TrimEnd('/') + "/"));
    }

    public OpenAIClient OpenAI(string key = AdminKey) =>
        new(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "v1"), NetworkTimeout = TimeSpan.FromMinutes(2) });

    public ChatClient Chat(string model = ChatModel) => OpenAI().GetChatClient(model);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
        GC.SuppressFinalize(this);
    }
}

/// <summary>One shared server for the tests that don't need special limits (starting a runner costs a second).</summary>
public sealed class SharedServerFixture : IAsyncLifetime
{
    public SovereignTestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await SovereignTestServer.StartAsync("--Sovereign:Engine:Slots=8");

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class SharedServerCollection : ICollectionFixture<SharedServerFixture>
{
    public const string Name = "shared server";
}
