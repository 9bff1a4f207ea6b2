using Microsoft.Extensions.Logging;

namespace Sovereign.Server.WebUi;

/// <summary>The web interface's log messages (event ids 5100–5199, beside the admin API's 5xxx).</summary>
internal static partial class WebUiLog
{
    [LoggerMessage(5100, LogLevel.Warning, "Web sign-in refused for key {Prefix}: unknown, revoked or expired")]
    public static partial void WebSignInRefused(this ILogger logger, string prefix);
}
