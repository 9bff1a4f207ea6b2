using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Core.Errors;
using Sovereign.Core.Options;
using Sovereign.Server.Hosting;
using Sovereign.Server.Tenancy;

namespace Sovereign.Server.Auth;

/// <summary>
/// Makes sure the default tenant has someone who can sign in to the web UI, as <see cref="AdminKeyBootstrapper"/> does
/// for keys: when it has no person at all (first start), creates the owner account <see cref="OwnerUsername"/> with
/// <c>Sovereign:Auth:InitialOwnerPassword</c> if set, or else a generated password that is shown once on the console
/// and written (mode 0600) to <see cref="PasswordFile"/>.
/// </summary>
internal sealed class OwnerBootstrapper(
    IUserStore users, SovereignPaths paths, IOptions<AuthOptions> options, IOperatorConsole console, ILogger<OwnerBootstrapper> logger)
{
    public const string OwnerUsername = "owner";

    public static string PasswordFile(SovereignPaths paths) => Path.Combine(paths.Root, "owner.password");

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (await users.CountPeopleAsync(Tenants.Default, cancellationToken) > 0) return;

        var configured = options.Value.InitialOwnerPassword;
        var password = string.IsNullOrEmpty(configured)
            ? RandomNumberGenerator.GetString("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 20)
            : configured;
        UserInfo owner;
        try
        {
            owner = await users.CreateAsync(new NewUser(Tenants.Default, OwnerUsername, "Owner", Roles.Owner, UserKinds.Person, password), cancellationToken);
        }
        catch (SovereignException e) when (e.Kind == ErrorKind.Conflict)
        {
            // Another node sharing the database made the owner between our count and our insert.
            return;
        }
        logger.OwnerCreated(owner.Id);
        if (!string.IsNullOrEmpty(configured)) return;

        var file = PasswordFile(paths);
        string? writeError = null;
        try
        {
            SecretFile.Write(file, password + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            writeError = e.Message;
        }
        console.WriteNotice(
        [
            $"Web sign-in: user '{OwnerUsername}', password (shown once): {password}",
            writeError is null ? $"Saved in {file} (readable only by you); change it after signing in." : $"It could NOT be saved to {file}: {writeError}. Copy it now.",
        ]);
    }
}
