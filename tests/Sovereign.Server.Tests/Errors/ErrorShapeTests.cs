using System.Net;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Errors;

public sealed class ErrorShapeTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task An_unknown_v1_route_is_404_in_OpenAIs_shape()
    {
        var (status, body) = await _host.AdminClient().GetJsonAsync("v1/engines");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "unknown_url");
    }

    [Fact]
    public async Task An_unknown_v1_route_without_a_key_is_401_first()
    {
        var (status, body) = await _host.Client().GetJsonAsync("v1/engines");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Http.AssertOpenAiError(body, "authentication_error", "invalid_api_key");
    }

    [Fact]
    public async Task A_wrong_method_on_a_v1_route_is_405_in_OpenAIs_shape()
    {
        var (status, body) = await _host.AdminClient().GetJsonAsync("v1/chat/completions");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "method_not_allowed");
    }
}
