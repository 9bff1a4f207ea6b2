using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Sovereign.Bench.Machine;
using Sovereign.Models.Store;
using Spectre.Console;

namespace Sovereign.Cli.Commands;

/// <summary>`sov doctor`: what this machine and data folder look like to Sovereign, and what is wrong with them.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor", "Check this machine, the data folder, the native backend and the server.");
        command.SetAction(async (_, ct) =>
        {
            var problems = 0;
            var table = new Table().AddColumns("CHECK", "RESULT");
            void Ok(string check, string result) => table.AddRow(Markup.Escape(check), Markup.Escape(result));
            void Bad(string check, string result)
            {
                problems++;
                table.AddRow(Markup.Escape(check), $"[red]{Markup.Escape(result)}[/]");
            }

            Ok("runtime", $"{RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture})");
            Ok("cpu cores", Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Ok("memory", Format.Bytes(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes));

            var paths = CliEnvironment.Paths;
            try
            {
                Directory.CreateDirectory(paths.Root);
                var probe = Path.Combine(paths.Root, $".doctor-{Environment.ProcessId}");
                await File.WriteAllTextAsync(probe, "ok", ct);
                File.Delete(probe);
                var drive = new DriveInfo(paths.Root);
                Ok("data folder", $"{paths.Root} (writable, {Format.Bytes(drive.AvailableFreeSpace)} free)");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Bad("data folder", $"{paths.Root}: {e.Message}");
            }

            try
            {
                var models = new FileModelStore(paths).List();
                Ok("models in store", models.Count == 0 ? "none (import one with `sov models import FILE.gguf`)" : string.Join(", ", models.Select(m => m.Reference)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Bad("models in store", e.Message);
            }

            Ok("native backend", Sovereign.Inference.Hosting.NativeBackendProbe.Describe());
            // Not a problem to fix here (a cloud image may start it to return memory to its host), but it explains
            // decode speed that dips about once per sampling interval on a virtual machine.
            if (KernelMemoryMonitor.Describe(KernelMemoryMonitor.ReadRunning()) is { } monitors)
                table.AddRow("kernel memory monitor", $"[yellow]{Markup.Escape("DAMON: " + monitors)}[/]");
            else
                Ok("kernel memory monitor", "none running");

            Ok("server address", CliEnvironment.ServerUrl);
            Ok("api key", CliEnvironment.ApiKey is null ? "none found (set SOV_API_KEY)" : "found");
            try
            {
                using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
                var health = JsonNode.Parse(await http.GetStringAsync($"{CliEnvironment.ServerUrl}/health", ct));
                Ok("server", $"{health?["status"]} — backend: {health?["backend"]}; loaded: {health?["loaded"]?.AsArray().Count ?? 0}");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
            {
                Ok("server", $"not reachable ({e.Message.Split('\n')[0]}); start it with `sov serve`");
            }

            AnsiConsole.Write(table);
            if (problems > 0) throw new CliException($"{problems} problem(s) found.");
            return 0;
        });
        return command;
    }
}
