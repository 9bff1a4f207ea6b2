using Microsoft.Extensions.Logging;
using Sovereign.Apps.Store;
using Sovereign.Core.Errors;

namespace Sovereign.Apps.Publishing;

/// <summary>
/// Publishes an app's draft: checks that everything it names exists (every missing model, knowledge base and tool
/// in one 409 <c>app_reference_missing</c>), then stores it as the next immutable version and makes it live.
/// Thread-safe.
/// </summary>
public sealed partial class AppPublisher(IAppStore store, IEnumerable<IAppReferenceCheck> checks, ILogger<AppPublisher> logger)
{
    public async Task<AppRecord> PublishAsync(string id, string? publishedBy, CancellationToken cancellationToken = default)
    {
        var app = await store.GetAsync(id, cancellationToken) ?? throw SqliteAppStore.AppNotFound(id);
        var missing = new List<MissingReference>();
        foreach (var check in checks) missing.AddRange(await check.FindMissingAsync(app.Draft, cancellationToken));
        if (missing.Count > 0)
        {
            throw new SovereignException(ErrorKind.Conflict,
                $"App '{id}' cannot be published: {string.Join(" ", missing.Select(m => m.Message))}",
                missing[0].Field, "app_reference_missing");
        }
        var published = await store.PublishAsync(id, app.Draft, publishedBy, cancellationToken);
        LogPublished(logger, id, published.LiveVersion ?? 0, publishedBy);
        return published;
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "App {AppId} published as version {Version} by key {KeyId}")]
    private static partial void LogPublished(ILogger logger, string appId, int version, string? keyId);
}
