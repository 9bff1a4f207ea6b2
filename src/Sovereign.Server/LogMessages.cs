using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Server;

/// <summary>
/// Every log message of the server, source-generated, with stable event ids grouped by area
/// (1xxx start-up, 2xxx auth, 3xxx HTTP errors, 4xxx generation, 5xxx admin). Prompt and output text is logged
/// at Trace only; keys only by prefix or id.
/// </summary>
internal static partial class LogMessages
{
    // :: 1xxx start-up
    [LoggerMessage(1000, LogLevel.Information, "Data folder: {Root}")]
    public static partial void DataFolder(this ILogger logger, string root);

    [LoggerMessage(1001, LogLevel.Information, "Database {Path} ready (schema version {Version})")]
    public static partial void DatabaseReady(this ILogger logger, string path, int version);

    [LoggerMessage(1002, LogLevel.Information, "Shared PostgreSQL database {Database} ready (schema version {Version}); tenancy state lives there")]
    public static partial void SharedDatabaseReady(this ILogger logger, string database, int version);

    [LoggerMessage(1010, LogLevel.Warning, "Generated admin API key {KeyId} ({Prefix}…); it was shown on the console and written to {KeyFile}")]
    public static partial void AdminKeyGenerated(this ILogger logger, string keyId, string prefix, string keyFile);

    [LoggerMessage(1011, LogLevel.Information, "The admin API key is in {KeyFile}")]
    public static partial void AdminKeyFileLocation(this ILogger logger, string keyFile);

    [LoggerMessage(1012, LogLevel.Warning, "An admin API key exists but its key file {KeyFile} is missing; use the key you saved, or revoke it with another admin key")]
    public static partial void AdminKeyFileMissing(this ILogger logger, string keyFile);

    [LoggerMessage(1013, LogLevel.Error, "The generated admin API key could not be written to {KeyFile}: {Reason}")]
    public static partial void AdminKeyFileNotWritten(this ILogger logger, string keyFile, string reason);

    [LoggerMessage(1014, LogLevel.Information, "Using the admin API key from Sovereign:AdminKey ({Prefix}…)")]
    public static partial void ConfiguredAdminKeyInUse(this ILogger logger, string prefix);

    [LoggerMessage(1015, LogLevel.Warning, "The admin API key from Sovereign:AdminKey (stored as {KeyId}) is revoked, expired or lacks the admin scope; requests with it will be refused. Configure a new one")]
    public static partial void ConfiguredAdminKeyUnusable(this ILogger logger, string keyId);

    // :: 2xxx auth
    [LoggerMessage(2000, LogLevel.Information, "Refused {Method} {Path}: API key {Reason}")]
    public static partial void AuthenticationFailed(this ILogger logger, string reason, string method, PathString path);

    [LoggerMessage(2001, LogLevel.Information, "Refused {Method} {Path} for key {KeyId}: admin scope required")]
    public static partial void AuthorizationFailed(this ILogger logger, string keyId, string method, PathString path);

    // :: 3xxx HTTP errors
    [LoggerMessage(3000, LogLevel.Debug, "{Method} {Path} refused with {Status} ({Code})")]
    public static partial void RequestRefused(this ILogger logger, string method, PathString path, int status, string? code);

    [LoggerMessage(3001, LogLevel.Error, "Unhandled error in {Method} {Path} (request id {RequestId})")]
    public static partial void UnhandledException(this ILogger logger, Exception exception, string method, PathString path, string requestId);

    [LoggerMessage(3002, LogLevel.Warning, "Error after the response to {Method} {Path} had started; the connection was aborted")]
    public static partial void ErrorAfterResponseStarted(this ILogger logger, Exception exception, string method, PathString path);

    [LoggerMessage(3003, LogLevel.Debug, "The client of {Method} {Path} went away")]
    public static partial void ClientGone(this ILogger logger, string method, PathString path);

    // :: 4xxx generation
    [LoggerMessage(4000, LogLevel.Debug, "Generation {RequestId} on {Model} (stream: {Stream}, max tokens: {MaxTokens})")]
    public static partial void GenerationRequested(this ILogger logger, string requestId, string model, bool stream, int? maxTokens);

    [LoggerMessage(4001, LogLevel.Debug, "Generation {RequestId} finished ({Reason}): {PromptTokens} prompt + {CompletionTokens} completion tokens")]
    public static partial void GenerationCompleted(this ILogger logger, string requestId, FinishReason reason, int promptTokens, int completionTokens);

    [LoggerMessage(4002, LogLevel.Warning, "Generation {RequestId} failed mid-stream ({Kind}, {Code}): {Message}")]
    public static partial void GenerationFailed(this ILogger logger, string requestId, ErrorKind kind, string? code, string message);

    [LoggerMessage(4003, LogLevel.Error, "Generation {RequestId} failed mid-stream with an unexpected error")]
    public static partial void GenerationCrashed(this ILogger logger, Exception exception, string requestId);

    [LoggerMessage(4004, LogLevel.Error, "Generation {RequestId}: the engine ended the stream without Finished or Failed")]
    public static partial void GenerationEndedEarly(this ILogger logger, string requestId);

    [LoggerMessage(4010, LogLevel.Trace, "Generation {RequestId} chat messages:\n{Messages}")]
    public static partial void ChatPromptText(this ILogger logger, string requestId, string messages);

    [LoggerMessage(4011, LogLevel.Trace, "Generation {RequestId} prompt:\n{Prompt}")]
    public static partial void CompletionPromptText(this ILogger logger, string requestId, string prompt);

    // :: 5xxx admin
    [LoggerMessage(5000, LogLevel.Information, "API key {KeyId} ({Prefix}…, scope {Scope}) created by key {ByKeyId}")]
    public static partial void ApiKeyCreated(this ILogger logger, string keyId, string prefix, string scope, string byKeyId);

    [LoggerMessage(5001, LogLevel.Information, "API key {KeyId} revoked by key {ByKeyId}")]
    public static partial void ApiKeyRevoked(this ILogger logger, string keyId, string byKeyId);
}
