using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Sovereign.Server;

namespace Sovereign.Cli.Commands;

/// <summary>`sov serve`: runs the server and web UI in this process (models run in child runner processes).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string?>("--urls") { Description = "Addresses to listen on (default http://127.0.0.1:8080; ASPNETCORE_URLS also works)." };
        var home = new Option<string?>("--home") { Description = "Data folder (default $SOV_HOME or ./data)." };
        var command = new Command("serve", "Run the Sovereign server on this machine.") { urls, home };
        // Anything else (e.g. --Sovereign:Engine:Slots=4) is handed to ASP.NET Core's configuration as is.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var args = new List<string>();
            if (parse.GetValue(urls) is { } u) args.AddRange(["--urls", u]);
            if (parse.GetValue(home) is { } h) args.Add($"--Sovereign:Home={h}");
            args.AddRange(parse.UnmatchedTokens);
            // Disposing the app disposes the model manager, which ends every runner process.
            await using var app = SovereignServer.Build([.. args]);
            await app.StartAsync(ct);
            await app.WaitForShutdownAsync(ct);
            return 0;
        });
        return command;
    }
}
