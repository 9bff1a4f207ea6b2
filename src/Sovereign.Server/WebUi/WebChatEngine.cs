using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Sovereign.Core.Generation;
using Sovereign.Core.Tenancy;
using Sovereign.Server.Auth;
using Sovereign.Server.Tenancy;
using Sovereign.Web.Access;

namespace Sovereign.Server.WebUi;

/// <summary>
/// Chat from the browser goes through the same <see cref="GenerationMeter"/> as the OpenAI and Ollama APIs (quotas,
/// the fair queue, usage recorded under the API name <see cref="Api"/>), acting as the signed-in user or key, in its
/// tenant. Thread-safe.
/// </summary>
internal sealed class WebChatEngine(IInferenceService engine, GenerationMeter meter) : IWebChatEngine
{
    public const string Api = "web";

    public IInferenceService For(WebUser user, string? appId = null)
    {
        // The meter reads the caller from an HttpContext; a Blazor circuit has none per call, so it gets its own.
        var context = new DefaultHttpContext();
        context.SetApiPrincipal(user.Method == WebSignInMethods.ApiKey
            ? new ApiPrincipal(user.Id, user.TenantId, user.Name, user.Scopes)
            : new ApiPrincipal($"session:{user.Id}", user.TenantId, user.Name, user.Scopes) { UserId = user.Id, IsSession = true });
        if (appId is not null) GenerationMeter.MarkApp(context, appId);
        return new TenantScoped(meter.Wrap(engine, context, Api), user.TenantId);
    }

    /// <summary>Enters the user's tenant around each call, as the authentication middleware does for a request.</summary>
    private sealed class TenantScoped(IInferenceService inner, string tenantId) : IInferenceService
    {
        public string Backend => inner.Backend;

        public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            IAsyncEnumerator<GenerationEvent> events;
            using (TenantScope.Enter(tenantId)) events = inner.GenerateAsync(request, cancellationToken).GetAsyncEnumerator(cancellationToken);
            await using (events)
            {
                while (true)
                {
                    using (TenantScope.Enter(tenantId))
                    {
                        if (!await events.MoveNextAsync()) yield break;
                    }
                    yield return events.Current;
                }
            }
        }

        public IReadOnlyList<LoadedModelInfo> Loaded() => inner.Loaded();

        public Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default) => inner.UnloadAsync(model, cancellationToken);

        public Task<LoadedModelInfo> LoadAsync(string model, TimeSpan? keepAlive = null, CancellationToken cancellationToken = default) =>
            inner.LoadAsync(model, keepAlive, cancellationToken);
    }
}
