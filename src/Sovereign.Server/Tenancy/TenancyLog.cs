using Microsoft.Extensions.Logging;

namespace Sovereign.Server.Tenancy;

/// <summary>The tenancy area's log messages (event ids 7xxx): sign-in, users, quotas, usage, audit. No passwords, no keys.</summary>
internal static partial class TenancyLog
{
    [LoggerMessage(7000, LogLevel.Warning, "Created the first owner account {UserId} for web sign-in")]
    public static partial void OwnerCreated(this ILogger logger, string userId);

    [LoggerMessage(7001, LogLevel.Information, "User {UserId} of tenant {TenantId} signed in")]
    public static partial void SignedIn(this ILogger logger, string userId, string tenantId);

    [LoggerMessage(7002, LogLevel.Warning, "Failed sign-in as {Username}")]
    public static partial void SignInFailed(this ILogger logger, string username);

    [LoggerMessage(7003, LogLevel.Warning, "Account {Username} is locked until {Until} after repeated failed sign-ins")]
    public static partial void AccountLocked(this ILogger logger, string username, DateTimeOffset until);

    [LoggerMessage(7010, LogLevel.Information, "Refused a request of {Subject}: {Limit} reached")]
    public static partial void LimitReached(this ILogger logger, string subject, string limit);

    [LoggerMessage(7020, LogLevel.Error, "Could not record usage of request {RequestId}")]
    public static partial void UsageNotRecorded(this ILogger logger, Exception exception, string requestId);
}
