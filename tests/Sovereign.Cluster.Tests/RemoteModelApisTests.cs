using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Cluster.Tests.Support;
using Sovereign.Models.Store;

namespace Sovereign.Cluster.Tests;

/// <summary>
/// Every API that names a model accepts one that only another node stores, as the OpenAI API does: Ollama's, agents
/// and apps (checked at creation and publication, and run on the node that has it).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RemoteModelApisTests
{
    private static async Task<JsonNode> OkAsync(HttpResponseMessage response)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {text}");
            return JsonNode.Parse(text)!;
        }
    }

    [Fact]
    public async Task Ollama_agents_and_apps_on_a_node_without_the_model_run_it_where_it_is_stored()
    {
        await using var cluster = await TestCluster.StartAsync([("a", false), ("b", true)]);
        var (a, b) = (cluster["a"], cluster["b"]);
        // Chat needs a template; stories260K has none of its own. Only b, which stores the model, knows it.
        b.Services.GetRequiredService<IModelStore>().SetChatTemplate(ClusterNode.Model, "chatml");

        var generated = await OkAsync(await a.Http.PostAsJsonAsync("api/generate",
            new { model = ClusterNode.Model, prompt = "Once upon a time", stream = false, options = new { temperature = 0, num_predict = 8 } }));
        Assert.False(string.IsNullOrWhiteSpace((string?)generated["response"]), generated.ToJsonString());

        var agent = await OkAsync(await a.Http.PostAsJsonAsync("v1/agents", new { name = "remote model agent", model = ClusterNode.Model, limits = new { max_tokens_per_step = 32 } }));
        var run = await OkAsync(await a.Http.PostAsJsonAsync($"v1/agents/{agent["id"]}/runs", new { input = "Tell a story.", stream = false }));
        Assert.True((string?)run["status"] == "completed", run.ToJsonString());

        var appId = "remote-" + Guid.NewGuid().ToString("N")[..8];
        await OkAsync(await a.Http.PostAsJsonAsync("v1/apps", new { id = appId, name = "Remote", model = ClusterNode.Model, instructions = "Tell stories." }));
        await OkAsync(await a.Http.PostAsync($"v1/apps/{appId}/publish", null));
        var chat = await OkAsync(await a.Http.PostAsJsonAsync("v1/chat/completions",
            new { model = $"app:{appId}", messages = new[] { new { role = "user", content = "Once upon a time" } }, max_tokens = 8 }));
        Assert.False(string.IsNullOrEmpty((string?)chat["choices"]![0]!["message"]!["content"]), chat.ToJsonString());

        // Every generation ran on b, the node that stores the model; a never started a runner.
        Assert.Equal((0, 1), (a.Engine.RunnerStarts, b.Engine.RunnerStarts));

        // A model on no node is still refused where it is named.
        using var missing = await a.Http.PostAsJsonAsync("v1/agents", new { name = "nowhere", model = "absent" });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
    }
}
