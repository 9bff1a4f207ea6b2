using System.Net;
using Sovereign.Core.Generation;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Health;

public sealed class HealthApiTests
{
    [Fact]
    public async Task Health_reports_version_backend_model_count_and_loaded_models_without_a_key()
    {
        await using var host = await TestHost.StartAsync(inference: new ScriptedInference(ScriptedInference.Story(FinishReason.Stop)));
        await host.ImportModelAsync("stories");

        var (status, body) = await host.Client().GetJsonAsync("health");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ok", body["status"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["version"]!.GetValue<string>()));
        Assert.Equal("scripted (tests)", body["backend"]!.GetValue<string>());
        Assert.Equal(1, body["models"]!.GetValue<int>());
        var loaded = Assert.Single(body["loaded"]!.AsArray())!;
        Assert.Equal("stories:latest", loaded["name"]!.GetValue<string>());
        Assert.Equal(2048, loaded["context_size"]!.GetValue<int>());
        Assert.Equal(4242, loaded["process_id"]!.GetValue<int>());
    }

    [Fact]
    public async Task Health_works_with_the_real_engine_wiring()
    {
        await using var host = await TestHost.StartAsync();

        var (status, body) = await host.Client().GetJsonAsync("health");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(0, body["models"]!.GetValue<int>());
        Assert.NotNull(body["loaded"]!.AsArray());
        Assert.False(string.IsNullOrEmpty(body["backend"]!.GetValue<string>()));
    }
}
