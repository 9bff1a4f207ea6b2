using System.CommandLine;
using Sovereign.Cli.Commands;
using Sovereign.Core.Errors;

namespace Sovereign.Cli;

/// <summary>Builds the command tree and runs it. Every failure ends as one line on stderr and exit code 1 (2 for usage).</summary>
public static class CliApp
{
    public static async Task<int> RunAsync(string[] args)
    {
        // Piped output has no terminal width; honour COLUMNS, else use a wide page so tables stay one row per item.
        if (Console.IsOutputRedirected)
            Spectre.Console.AnsiConsole.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 20 ? columns : 200;

        var root = new RootCommand("Sovereign: an offline, self-hosted AI platform.");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(ModelsCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(PsCommand.Create());
        root.Subcommands.Add(ClusterCommand.Create());
        root.Subcommands.Add(KeysCommand.Create());
        root.Subcommands.Add(TenantsCommand.Create());
        root.Subcommands.Add(UsersCommand.Create());
        root.Subcommands.Add(UsageCommand.Create());
        root.Subcommands.Add(AuditCommand.Create());
        root.Subcommands.Add(KbCommand.Create());
        root.Subcommands.Add(AppsCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(RunnerModeCommand.Create());

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) await Console.Error.WriteLineAsync($"sov: {e.Message}");
            return 2;
        }
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (SovereignException e)
        {
            await Console.Error.WriteLineAsync($"sov: {e.Message}");
            return 1;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            // Start-up validation names every bad setting; print them, not a stack trace.
            await Console.Error.WriteLineAsync($"sov: invalid configuration: {string.Join(" ", e.Failures)}");
            return 1;
        }
        catch (CliException e)
        {
            await Console.Error.WriteLineAsync($"sov: {e.Message}");
            return e.ExitCode;
        }
        catch (HttpRequestException e)
        {
            await Console.Error.WriteLineAsync($"sov: cannot reach the server at {CliEnvironment.ServerUrl}: {e.Message}. Is `sov serve` running? (Set SOV_URL to point elsewhere.)");
            return 1;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("sov: cancelled.");
            return 130;
        }
    }
}

/// <summary>A user-facing CLI failure: its message is printed as is.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
