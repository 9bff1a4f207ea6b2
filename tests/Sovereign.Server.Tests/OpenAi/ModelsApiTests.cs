using System.Net;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.OpenAi;

public sealed class ModelsApiTests
{
    [Fact]
    public async Task Models_lists_imported_models_in_OpenAIs_shape_and_one_imported_later_at_once()
    {
        await using var host = await TestHost.StartAsync();
        await host.ImportModelAsync("stories");

        var (status, body) = await host.AdminClient().GetJsonAsync("v1/models");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("list", body["object"]!.GetValue<string>());
        var model = Assert.Single(body["data"]!.AsArray())!;
        Assert.Equal("stories:latest", model["id"]!.GetValue<string>());
        Assert.Equal("model", model["object"]!.GetValue<string>());
        Assert.Equal("sovereign", model["owned_by"]!.GetValue<string>());
        Assert.InRange(model["created"]!.GetValue<long>(), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());

        await host.ImportModelAsync("stories-copy:v2");

        var (_, after) = await host.AdminClient().GetJsonAsync("v1/models");
        Assert.Equal(["stories-copy:v2", "stories:latest"], after["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_model_is_retrievable_by_id_and_an_unknown_one_is_404_model_not_found()
    {
        await using var host = await TestHost.StartAsync();
        await host.ImportModelAsync("stories");

        var (status, model) = await host.AdminClient().GetJsonAsync("v1/models/stories:latest");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("stories:latest", model["id"]!.GetValue<string>());

        var (shortStatus, byName) = await host.AdminClient().GetJsonAsync("v1/models/stories");
        Assert.Equal(HttpStatusCode.OK, shortStatus);
        Assert.Equal("stories:latest", byName["id"]!.GetValue<string>());

        var (missingStatus, missing) = await host.AdminClient().GetJsonAsync("v1/models/nope:latest");
        Assert.Equal(HttpStatusCode.NotFound, missingStatus);
        Http.AssertOpenAiError(missing, "invalid_request_error", "model_not_found", "model");
    }
}
