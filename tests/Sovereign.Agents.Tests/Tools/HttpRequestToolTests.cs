using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sovereign.Agents.Tools;
using Sovereign.Agents.Tools.Http;

namespace Sovereign.Agents.Tests.Tools;

public sealed class HttpRequestToolTests : IAsyncLifetime
{
    private LocalHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await LocalHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private HttpRequestTool Tool(string[]? allowed = null, string[]? internalHosts = null, int maxBytes = 64 * 1024, double timeoutSeconds = 10) =>
        new(allowed ?? [$"127.0.0.1:{_server.Port}"], new HttpToolOptions
        {
            InternalHosts = [.. internalHosts ?? []],
            MaxResponseBytes = maxBytes,
            Timeout = TimeSpan.FromSeconds(timeoutSeconds),
        });

    private static async Task<ToolResult> CallAsync(HttpRequestTool tool, object arguments)
    {
        using var document = JsonDocument.Parse(JsonSerializer.Serialize(arguments));
        return await tool.InvokeAsync(document.RootElement, default);
    }

    [Fact]
    public async Task Reaches_an_allow_listed_local_server_and_returns_status_type_and_body()
    {
        using var tool = Tool();
        var result = await CallAsync(tool, new { url = $"http://127.0.0.1:{_server.Port}/hello" });
        Assert.False(result.IsError, result.Content);
        var body = JsonNode.Parse(result.Content)!;
        Assert.Equal(200, body["status"]!.GetValue<int>());
        Assert.Equal("hello from the tool host", body["body"]!.GetValue<string>());

        var posted = await CallAsync(tool, new { url = $"http://127.0.0.1:{_server.Port}/echo", method = "POST", body = "ping" });
        Assert.Equal("ping", JsonNode.Parse(posted.Content)!["body"]!.GetValue<string>());
    }

    [Fact]
    public async Task Refuses_a_host_that_is_not_on_the_allow_list_without_connecting()
    {
        using var tool = Tool();
        var result = await CallAsync(tool, new { url = "http://intranet.example/secrets" });
        Assert.True(result.IsError);
        Assert.Contains("not in the organisation's allow-list", result.Content, StringComparison.Ordinal);
        // Loopback on another port is not implied by allowing one port.
        var other = await CallAsync(tool, new { url = $"http://127.0.0.1:{_server.Port + 1}/hello" });
        Assert.Contains("not in the organisation's allow-list", other.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuses_the_cloud_metadata_address_even_when_listed()
    {
        using var tool = Tool(["169.254.169.254", "169.254.169.254:80"]);
        var result = await CallAsync(tool, new { url = "http://169.254.169.254/latest/meta-data/" });
        Assert.True(result.IsError);
        Assert.Contains("cloud metadata address", result.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuses_a_name_that_resolves_to_a_private_address_unless_it_is_allowed_as_internal()
    {
        using var tool = Tool([$"localhost:{_server.Port}"]);
        var result = await CallAsync(tool, new { url = $"http://localhost:{_server.Port}/hello" });
        Assert.True(result.IsError);
        Assert.Contains("'localhost' resolves to", result.Content, StringComparison.Ordinal);
        Assert.Contains("loopback address", result.Content, StringComparison.Ordinal);
        Assert.DoesNotContain("/hello", _server.Seen);

        using var internalTool = Tool([$"localhost:{_server.Port}"], internalHosts: ["localhost"]);
        var allowed = await CallAsync(internalTool, new { url = $"http://localhost:{_server.Port}/hello" });
        Assert.False(allowed.IsError, allowed.Content);
    }

    [Fact]
    public async Task Follows_a_redirect_on_the_same_host_but_never_one_to_another_host()
    {
        using var tool = Tool([$"127.0.0.1:{_server.Port}", $"localhost:{_server.Port}"], internalHosts: ["localhost"]);
        var same = await CallAsync(tool, new { url = $"http://127.0.0.1:{_server.Port}/redirect-same" });
        Assert.False(same.IsError, same.Content);
        Assert.Equal("hello from the tool host", JsonNode.Parse(same.Content)!["body"]!.GetValue<string>());

        lock (_server.Seen) _server.Seen.Clear();
        var other = await CallAsync(tool, new { url = $"http://127.0.0.1:{_server.Port}/redirect-other" });
        Assert.True(other.IsError);
        Assert.Contains("redirect to another host", other.Content, StringComparison.Ordinal);
        lock (_server.Seen) Assert.Equal(["/redirect-other"], _server.Seen);
    }

    [Theory]
    [InlineData("/big")]
    [InlineData("/big-chunked")]
    public async Task Refuses_a_response_larger_than_the_cap(string path)
    {
        using var tool = Tool(maxBytes: 64 * 1024);
        var result = await CallAsync(tool, new { url = $"http://127.0.0.1:{_server.Port}{path}" });
        Assert.True(result.IsError);
        Assert.Contains("bytes the HTTP tool reads", result.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Abandons_a_request_that_takes_longer_than_the_time_cap()
    {
        using var tool = Tool(timeoutSeconds: 0.5);
        var result = await CallAsync(tool, new { url = $"http://127.0.0.1:{_server.Port}/slow" });
        Assert.True(result.IsError);
        Assert.Contains("took longer than 0.5 s", result.Content, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"url": "file:///etc/passwd"}""", "not an absolute http or https URL")]
    [InlineData("""{"url": "http://user:pw@127.0.0.1/"}""", "user names or passwords")]
    [InlineData("""{"url": "http://127.0.0.1/", "method": "TRACE"}""", "not supported")]
    [InlineData("""{"url": "http://127.0.0.1/", "headers": {"Host": "evil"}}""", "set by the platform")]
    [InlineData("""{"method": "GET"}""", "'url' is required")]
    public async Task Bad_arguments_are_refused_with_a_reason(string arguments, string expected)
    {
        using var tool = Tool();
        using var document = JsonDocument.Parse(arguments);
        var result = await tool.InvokeAsync(document.RootElement, default);
        Assert.True(result.IsError);
        Assert.Contains(expected, result.Content, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.1.2.3", "a private address")]
    [InlineData("172.16.0.1", "a private address")]
    [InlineData("192.168.1.1", "a private address")]
    [InlineData("127.0.0.1", "a loopback address")]
    [InlineData("::1", "a loopback address")]
    [InlineData("::ffff:127.0.0.1", "a loopback address")]
    [InlineData("169.254.1.1", "a link-local address")]
    [InlineData("fe80::1", "a link-local address")]
    [InlineData("fd12:3456::1", "a unique-local address")]
    [InlineData("100.64.0.1", "a carrier-grade NAT address")]
    [InlineData("0.0.0.0", "an unspecified ('this network') address")]
    [InlineData("8.8.8.8", null)]
    [InlineData("2001:4860:4860::8888", null)]
    public void Classifies_special_addresses(string address, string? kind) =>
        Assert.Equal(kind, AddressPolicy.SpecialKind(IPAddress.Parse(address)));
}
