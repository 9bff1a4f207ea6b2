using System.Text.Json;
using Sovereign.Agents.Mcp;
using Sovereign.Core.Errors;
using Sovereign.Core.Net;

namespace Sovereign.Agents.Tests.Mcp;

public class McpConnectionTests
{
    private static JsonElement Args(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task A_stdio_server_offers_its_tools_with_their_schemas_and_runs_them()
    {
        await using var connection = await McpConnection.ConnectAsync("test", TestMcpServer.Stdio(), null, null, default);
        Assert.Equal(["add", "echo", "inject", "process_id", "sleep", "slow"], connection.Tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        var add = connection.Tools.Single(t => t.Name == "add");
        Assert.Equal("Adds two whole numbers.", add.Description);
        Assert.Equal(JsonValueKind.Object, add.ParametersSchema.GetProperty("properties").GetProperty("a").ValueKind);

        var result = await add.InvokeAsync(Args("""{"a": 2, "b": 40}"""), default);
        Assert.False(result.IsError, result.Content);
        Assert.Equal("42", result.Content);
    }

    [Fact]
    public async Task The_stdio_server_does_not_inherit_the_platform_environment()
    {
        Environment.SetEnvironmentVariable("SOV_ADMIN_KEY", "sov-secret-that-must-not-leak");
        try
        {
            var options = TestMcpServer.Stdio();
            options.Environment["GIVEN_BY_CONFIG"] = "yes";
            await using var connection = await McpConnection.ConnectAsync("test", options, null, null, default);
            var pid = int.Parse((await connection.Tools.Single(t => t.Name == "process_id").InvokeAsync(Args("{}"), default)).Content, System.Globalization.CultureInfo.InvariantCulture);
            var environ = await File.ReadAllTextAsync($"/proc/{pid}/environ");
            Assert.DoesNotContain("sov-secret-that-must-not-leak", environ, StringComparison.Ordinal);
            Assert.Contains("GIVEN_BY_CONFIG=yes", environ, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SOV_ADMIN_KEY", null);
        }
    }

    [Fact]
    public async Task A_streamable_http_server_is_reached_through_the_allow_list()
    {
        var (process, url) = await TestMcpServer.StartHttpAsync();
        try
        {
            using var http = new HttpClient(new AllowListHandler([]));
            await using var connection = await McpConnection.ConnectAsync("web", new McpServerOptions { Url = url }, http, null, default);
            var echo = connection.Tools.Single(t => t.Name == "echo");
            Assert.Equal("over http", (await echo.InvokeAsync(Args("""{"text": "over http"}"""), default)).Content);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }

    [Fact]
    public async Task A_server_that_cannot_start_is_a_clear_503_naming_it()
    {
        var e = await Assert.ThrowsAsync<SovereignException>(() =>
            McpConnection.ConnectAsync("broken", new McpServerOptions { Command = "/nonexistent/mcp-server" }, null, null, default));
        Assert.Equal(ErrorKind.Unavailable, e.Kind);
        Assert.Contains("'broken'", e.Message, StringComparison.Ordinal);
    }
}
