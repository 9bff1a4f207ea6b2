using Microsoft.Extensions.Logging;

namespace Sovereign.Cluster;

/// <summary>Every log message of the cluster, with its event id. No prompt or output text is ever logged here.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Node {Node} is draining: no new work; {Running} generations still running")]
    public static partial void Draining(ILogger logger, string node, int running);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "Node {Node} has finished its work and leaves the cluster")]
    public static partial void Leaving(ILogger logger, string node);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Warning, Message = "Node {Node} did not report within {Timeout}; routing leaves it out for now")]
    public static partial void ReportFailed(ILogger logger, string node, TimeSpan timeout, Exception exception);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Warning, Message = "Request {RequestId} lost node {Node} before its first token; routing it again")]
    public static partial void Rerouting(ILogger logger, string requestId, string node, Exception exception);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Warning, Message = "Request {RequestId} lost node {Node} after tokens were sent; the client gets an error event")]
    public static partial void LostMidStream(ILogger logger, string requestId, string node, Exception exception);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Debug, Message = "Request {RequestId} for {Model} goes to node {Node} ({Why})")]
    public static partial void Routed(ILogger logger, string requestId, string model, string node, string why);

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "Copying model {Model} from node {Source}: no node that stores it has room to run it")]
    public static partial void CopyingModel(ILogger logger, string model, string source);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Information, Message = "Copied model {Model} from node {Source} ({Bytes} bytes, digest checked)")]
    public static partial void CopiedModel(ILogger logger, string model, string source, long bytes);
}
