using Sovereign.Core.Options;

namespace Sovereign.Cli;

/// <summary>
/// Where the CLI finds things: the data folder (SOV_HOME, default ./data), the server (SOV_URL, default
/// http://127.0.0.1:8080) and its key (SOV_API_KEY, default the admin key of the local data folder).
/// </summary>
public static class CliEnvironment
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    public static string Home => Environment.GetEnvironmentVariable("SOV_HOME") is { Length: > 0 } h ? h : "data";

    public static SovereignPaths Paths => new(Home);

    /// <summary>SOV_DATABASE: the cluster's PostgreSQL, where commands that work without the server record their audit entries.</summary>
    public static string? Database => Environment.GetEnvironmentVariable("SOV_DATABASE") is { Length: > 0 } d ? d : null;

    public static string ServerUrl => (Environment.GetEnvironmentVariable("SOV_URL") is { Length: > 0 } u ? u : DefaultUrl).TrimEnd('/');

    /// <summary>SOV_API_KEY, else SOV_ADMIN_KEY, else the key file the server wrote on first start.</summary>
    public static string? ApiKey
    {
        get
        {
            if (Environment.GetEnvironmentVariable("SOV_API_KEY") is { Length: > 0 } k) return k;
            if (Environment.GetEnvironmentVariable("SOV_ADMIN_KEY") is { Length: > 0 } a) return a;
            var file = Paths.AdminKeyFile;
            return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
        }
    }
}
