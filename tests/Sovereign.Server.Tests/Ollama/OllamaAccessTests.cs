using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Sovereign.Core.Generation;
using Sovereign.Server.Ollama;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Ollama;

/// <summary>Keys on /api as on /v1, the loopback-without-key option, and the admin scope for changing models.</summary>
public sealed class OllamaAccessTests
{
    private static ScriptedInference Engine() => new(ScriptedInference.Story(FinishReason.Stop, "Hi"));

    [Fact]
    public async Task Without_the_option_a_request_without_a_key_is_401_even_from_loopback()
    {
        await using var host = await TestHost.StartAsync(inference: Engine());

        using var response = await host.Client().GetAsync("api/tags");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.NotNull((await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task With_the_option_loopback_needs_no_key_but_a_presented_key_is_still_checked()
    {
        await using var host = await TestHost.StartAsync(inference: Engine(), settings: ["--Sovereign:Ollama:AllowLoopbackWithoutKey=true"]);
        await host.ImportModelAsync("stories");

        using var tags = await host.Client().GetAsync("api/tags");
        using var generate = await host.Client().PostAsJsonAsync("api/generate", new JsonObject { ["model"] = "stories", ["prompt"] = "Hi", ["stream"] = false });
        using var badKey = await host.Client("sov-not-a-real-key-000000000000000000000000").GetAsync("api/tags");
        using var openAi = await host.Client().GetAsync("v1/models");

        Assert.Equal(HttpStatusCode.OK, tags.StatusCode);
        Assert.Equal(HttpStatusCode.OK, generate.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, badKey.StatusCode);
        // The option is for the Ollama API only.
        Assert.Equal(HttpStatusCode.Unauthorized, openAi.StatusCode);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.8.9.10", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("192.0.2.10", false)]
    [InlineData("10.0.0.1", false)]
    [InlineData("2001:db8::1", false)]
    public void Only_loopback_addresses_are_admitted_without_a_key(string address, bool admitted)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = "/api/tags";
        context.Connection.RemoteIpAddress = IPAddress.Parse(address);

        Assert.Equal(admitted, OllamaAccess.AdmitsWithoutKey(context, allowLoopbackWithoutKey: true));
        Assert.False(OllamaAccess.AdmitsWithoutKey(context, allowLoopbackWithoutKey: false));
    }

    [Fact]
    public void The_option_never_opens_other_apis_and_a_missing_address_is_not_loopback()
    {
        var openAi = new DefaultHttpContext();
        openAi.Request.Path = "/v1/models";
        openAi.Connection.RemoteIpAddress = IPAddress.Loopback;
        var unknown = new DefaultHttpContext();
        unknown.Request.Path = "/api/tags";

        Assert.False(OllamaAccess.AdmitsWithoutKey(openAi, allowLoopbackWithoutKey: true));
        Assert.False(OllamaAccess.AdmitsWithoutKey(unknown, allowLoopbackWithoutKey: true));
    }

    [Fact]
    public void A_setting_that_is_not_a_boolean_is_refused_naming_it()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(OllamaAccess.AllowLoopbackWithoutKeySetting, "yes please")]).Build();

        var error = Assert.Throws<InvalidOperationException>(() => OllamaAccess.AllowsLoopbackWithoutKey(configuration));

        Assert.Contains("Sovereign:Ollama:AllowLoopbackWithoutKey", error.Message, StringComparison.Ordinal);
        Assert.False(OllamaAccess.AllowsLoopbackWithoutKey(new ConfigurationBuilder().Build()));
    }

    [Fact]
    public async Task A_server_with_a_bad_setting_does_not_start()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            TestHost.StartAsync(inference: Engine(), settings: ["--Sovereign:Ollama:AllowLoopbackWithoutKey=maybe"]));

        Assert.Contains("Sovereign:Ollama:AllowLoopbackWithoutKey", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_inference_key_may_generate_but_not_copy_or_delete_models()
    {
        await using var host = await TestHost.StartAsync(inference: Engine());
        await host.ImportModelAsync("stories");
        var (_, key) = await host.CreateKeyAsync("app", "inference");
        var client = host.Client(key);

        using var generate = await client.PostAsJsonAsync("api/generate", new JsonObject { ["model"] = "stories", ["prompt"] = "Hi", ["stream"] = false });
        using var copy = await client.PostAsJsonAsync("api/copy", new JsonObject { ["source"] = "stories", ["destination"] = "mine" });
        using var delete = await client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "api/delete") { Content = JsonContent.Create(new { model = "stories" }) });

        Assert.Equal(HttpStatusCode.OK, generate.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, copy.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        Assert.Contains("admin", (string?)(await delete.Content.ReadFromJsonAsync<JsonObject>())!["error"], StringComparison.Ordinal);
        Assert.NotNull(host.Paths.Manifests);
        Assert.Contains(await host.AdminClient().GetFromJsonAsync<JsonObject>("api/tags") is { } tags ? tags["models"]!.AsArray() : [],
            m => (string?)m!["name"] == "stories:latest");
    }
}
