using System.Text.Json.Nodes;

namespace Sovereign.Cli.Tests;

/// <summary>
/// How the .NET runtime runs every sov process (server, model runners, benchmark): they share the machine's cores with
/// llama.cpp's decode threads, so the runtime must not spend CPU on them that decoding needs.
/// </summary>
public sealed class RuntimeConfigurationTests
{
    private static JsonNode ConfigProperties()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "sov.runtimeconfig.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        return json["runtimeOptions"]!["configProperties"]!;
    }

    [Fact]
    public void Idle_thread_pool_workers_sleep_at_once_instead_of_spinning()
    {
        Assert.Equal(0, (int)ConfigProperties()["System.Threading.ThreadPool.UnfairSemaphoreSpinLimit"]!);
    }

    [Fact]
    public void Methods_are_not_compiled_a_third_time_for_profile_guided_optimisation()
    {
        Assert.False((bool)ConfigProperties()["System.Runtime.TieredPGO"]!);
    }
}
