using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Sovereign.Core.Processes;
using Sovereign.Server;

namespace Sovereign.Cli.Commands;

/// <summary>`sov serve`: runs the server and web UI in this process (models run in child runner processes).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string?>("--urls") { Description = "Addresses to listen on (default http://127.0.0.1:8080; ASPNETCORE_URLS also works)." };
        var home = new Option<string?>("--home") { Description = "Data folder (default $SOV_HOME or ./data)." };
        var parent = new Option<int?>("--parent-pid")
        {
            Description = "Stop when process PID is no longer this server's parent: for a tool that starts the server as its child (the benchmark, tests).",
        };
        var command = new Command("serve", "Run the Sovereign server on this machine.") { urls, home, parent };
        // Anything else (e.g. --Sovereign:Engine:Slots=4) is handed to ASP.NET Core's configuration as is.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(parent) is <= 0)
                throw new CliException($"--parent-pid must be a process id greater than 0; got {parse.GetValue(parent)}.", 2);
            var args = new List<string>();
            if (parse.GetValue(urls) is { } u) args.AddRange(["--urls", u]);
            if (parse.GetValue(home) is { } h) args.Add($"--Sovereign:Home={h}");
            args.AddRange(parse.UnmatchedTokens);
            // Disposing the app disposes the model manager, which ends every runner process.
            await using var app = SovereignServer.Build([.. args]);
            await app.StartAsync(ct);
            if (parse.GetValue(parent) is { } parentId)
                _ = StopWhenParentGoneAsync(parentId, app);
            await app.WaitForShutdownAsync(ct);
            return 0;
        });
        return command;
    }

    private static async Task StopWhenParentGoneAsync(int parentId, Microsoft.AspNetCore.Builder.WebApplication app)
    {
        try
        {
            await ParentProcess.WaitUntilGoneAsync(parentId, app.Lifetime.ApplicationStopping);
            await Console.Error.WriteLineAsync($"sov serve: the parent process {parentId} is gone; stopping.");
            app.Lifetime.StopApplication();
        }
        catch (OperationCanceledException)
        {
            // The server is stopping for another reason.
        }
    }
}
