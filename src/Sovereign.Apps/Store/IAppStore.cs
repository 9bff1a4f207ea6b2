using Sovereign.Apps.Definitions;

namespace Sovereign.Apps.Store;

/// <summary>
/// The current tenant's apps (<see cref="Core.Tenancy.TenantScope"/>): one editable draft per app and its published
/// versions, which never change. The live version changes only through <see cref="PublishAsync"/> and
/// <see cref="RollbackAsync"/>. Another tenant's app does not exist here. Implementations are thread-safe.
/// </summary>
public interface IAppStore
{
    /// <summary>Stores a new app as a draft; 409 when the id is taken.</summary>
    Task<AppRecord> CreateAsync(AppDefinition draft, CancellationToken cancellationToken = default);

    Task<AppRecord?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>All apps, by id.</summary>
    Task<IReadOnlyList<AppRecord>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Replaces the draft; the live version is untouched. 404 when absent.</summary>
    Task<AppRecord> UpdateDraftAsync(AppDefinition draft, CancellationToken cancellationToken = default);

    /// <summary>Removes the app and all its versions. False when absent.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes <paramref name="checkedDraft"/> (the draft as the caller checked it) the next version and the live one.
    /// 409 when the draft changed since it was read, 404 when the app is absent.
    /// </summary>
    Task<AppRecord> PublishAsync(string id, AppDefinition checkedDraft, string? publishedBy, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes <paramref name="version"/> live (by default the newest version older than the live one). 404 for an
    /// unknown version, 409 when there is nothing to roll back to.
    /// </summary>
    Task<AppRecord> RollbackAsync(string id, int? version, CancellationToken cancellationToken = default);

    /// <summary>Published versions, oldest first; null when the app is absent.</summary>
    Task<IReadOnlyList<AppVersion>?> VersionsAsync(string id, CancellationToken cancellationToken = default);

    Task<AppVersion?> GetVersionAsync(string id, int version, CancellationToken cancellationToken = default);
}

/// <param name="LiveVersion">Null until first published.</param>
/// <param name="LatestVersion">The highest published version; null until first published.</param>
/// <param name="Live">The live version's definition.</param>
public sealed record AppRecord(
    string Id,
    AppDefinition Draft,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    int? LiveVersion,
    int? LatestVersion,
    AppDefinition? Live);

public sealed record AppVersion(string AppId, int Version, AppDefinition Definition, DateTimeOffset PublishedAt, string? PublishedBy);
