using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Core.Options;
using Sovereign.Server.Hosting;

namespace Sovereign.Server.Auth;

/// <summary>
/// Makes sure an admin key exists at start-up.
/// <list type="number">
/// <item>Sovereign:AdminKey set → its hash is stored if absent; nothing is generated or written.</item>
/// <item>Otherwise, when the default tenant has no active admin key (first start, or every admin key revoked or
/// expired): generate one, show it once on the console, and write it to <see cref="SovereignPaths.AdminKeyFile"/>
/// with mode 0600 so the local CLI finds it. That file is the one documented exception to "only hashes are kept".</item>
/// <item>Otherwise only say where the key file is.</item>
/// </list>
/// </summary>
internal sealed class AdminKeyBootstrapper(
    IApiKeyStore keys, SovereignPaths paths, IOptions<SovereignOptions> options, IOperatorConsole console, TimeProvider time,
    ILogger<AdminKeyBootstrapper> logger)
{
    public const string ConfiguredKeyName = "admin (Sovereign:AdminKey)";
    public const string GeneratedKeyName = "admin (generated)";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var configured = options.Value.AdminKey;
        if (!string.IsNullOrEmpty(configured))
        {
            var stored = await keys.EnsureAsync(configured, new NewApiKey(ConfiguredKeyName, ApiKeyScopes.Admin), cancellationToken);
            if (!stored.IsActive(time.GetUtcNow()) || !stored.HasScope(ApiKeyScopes.Admin))
                logger.ConfiguredAdminKeyUnusable(stored.Id);
            else
                logger.ConfiguredAdminKeyInUse(stored.Prefix);
            return;
        }

        var created = await keys.CreateIfNoneActiveAsync(new NewApiKey(GeneratedKeyName, ApiKeyScopes.Admin), cancellationToken);
        if (created is null)
        {
            if (File.Exists(paths.AdminKeyFile)) logger.AdminKeyFileLocation(paths.AdminKeyFile);
            else logger.AdminKeyFileMissing(paths.AdminKeyFile);
            return;
        }

        // Shown first: if the file cannot be written, the person starting the server still has the key.
        string? writeError = null;
        try
        {
            SecretFile.Write(paths.AdminKeyFile, created.Key + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            writeError = e.Message;
        }
        console.WriteNotice(
        [
            $"Admin API key (shown once): {created.Key}",
            writeError is null
                ? $"Saved for the local `sov` CLI in {paths.AdminKeyFile} (readable only by you)."
                : $"It could NOT be saved to {paths.AdminKeyFile}: {writeError}. Copy it now.",
            "Create keys for applications with `sov keys create <name>`.",
        ]);
        logger.AdminKeyGenerated(created.Info.Id, created.Info.Prefix, paths.AdminKeyFile);
        if (writeError is not null) logger.AdminKeyFileNotWritten(paths.AdminKeyFile, writeError);
    }
}

/// <summary>Writes a file readable and writable only by its owner (0600), atomically (temp file, fsync, rename).</summary>
internal static class SecretFile
{
    public static void Write(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        var open = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) open.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using (var stream = new FileStream(temp, open))
            {
                stream.Write(System.Text.Encoding.UTF8.GetBytes(content));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
