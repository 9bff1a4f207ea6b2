using System.CommandLine;
using Sovereign.Inference.Runner;

namespace Sovereign.Cli.Commands;

/// <summary>`sov runner`: the process mode the server starts for each loaded model. Not for people.</summary>
internal static class RunnerModeCommand
{
    public static Command Create()
    {
        var command = new Command("runner", "Internal: serve one model for the server (started by `sov serve`).") { Hidden = true };
        command.SetAction(async (_, _) =>
        {
            var json = Environment.GetEnvironmentVariable(RunnerSettings.EnvironmentVariable)
                ?? throw new CliException($"`sov runner` is started by the server; {RunnerSettings.EnvironmentVariable} is not set.", 2);
            return await RunnerHost.RunAsync(RunnerSettings.FromJson(json));
        });
        return command;
    }
}
