using System.CommandLine;
using Sovereign.Models.Store;
using Spectre.Console;

namespace Sovereign.Cli.Commands;

/// <summary>
/// `sov models …`: works on the data folder directly, so it needs no running server; a server on the same
/// folder sees the change at once because the store reads manifests from disk.
/// </summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var command = new Command("models", "Import, list, show and remove models in the local store.");
        command.Subcommands.Add(Import());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Remove());
        command.Subcommands.Add(Template());
        return command;
    }

    private static FileModelStore Store() => new(CliEnvironment.Paths);

    private static Command Import()
    {
        var file = new Argument<FileInfo>("file") { Description = "A GGUF model file." };
        var name = new Option<string?>("--name") { Description = "name[:tag] to give it (default: the file name, tag latest)." };
        var template = new Option<string?>("--chat-template") { Description = $"Chat template to use instead of the model's own ({string.Join(", ", ChatTemplates.Known.Order())})." };
        var command = new Command("import", "Validate a GGUF file and add it to the store.") { file, name, template };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            if (!path.Exists) throw new CliException($"No such file: {path.FullName}");
            var modelName = parse.GetValue(name) is { } n ? ModelName.Parse(n, "--name") : null;
            var store = Store();
            ModelManifest manifest = null!;
            await AnsiConsole.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask($"Importing {path.Name}", maxValue: 1.0);
                    manifest = await store.ImportAsync(path.FullName, modelName, parse.GetValue(template),
                        new Progress<double>(v => task.Value = v), ct);
                    task.Value = 1.0;
                });
            Console.WriteLine($"Imported {manifest.Reference} ({manifest.Digest}, {Format.Bytes(manifest.Size)})");
            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List the models in the store.");
        command.Aliases.Add("ls");
        command.SetAction(_ =>
        {
            var models = Store().List();
            if (models.Count == 0)
            {
                Console.WriteLine("No models yet. Import one with: sov models import FILE.gguf");
                return 0;
            }
            var table = new Table().AddColumns("NAME", "ARCH", "PARAMS", "QUANT", "CONTEXT", "SIZE", "DIGEST");
            foreach (var m in models)
            {
                table.AddRow(Markup.Escape(m.Reference), Markup.Escape(m.Architecture ?? "?"), Format.Count(m.ParameterCount),
                    Markup.Escape(m.Quantization ?? "?"), m.ContextLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?",
                    Format.Bytes(m.Size), m.Digest.Replace("sha256:", "", StringComparison.Ordinal)[..12]);
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    private static Command Show()
    {
        var reference = new Argument<string>("model") { Description = "name[:tag]" };
        var command = new Command("show", "Show what the store knows about a model.") { reference };
        command.SetAction(parse =>
        {
            var m = Find(parse.GetValue(reference)!);
            var grid = new Grid().AddColumn().AddColumn();
            void Row(string k, object? v) => grid.AddRow(k, Markup.Escape(v?.ToString() ?? "—"));
            Row("name", m.Reference);
            Row("digest", m.Digest);
            Row("size", Format.Bytes(m.Size));
            Row("format", m.Format);
            Row("architecture", m.Architecture);
            Row("parameters", Format.Count(m.ParameterCount));
            Row("quantization", m.Quantization);
            Row("context length", m.ContextLength);
            Row("chat template", m.ChatTemplateOverride is { } o ? $"{o} (override)" : m.HasChatTemplate ? "from the model" : "none");
            Row("licence", m.License);
            Row("source", m.Source);
            Row("created", m.CreatedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture));
            AnsiConsole.Write(grid);
            return 0;
        });
        return command;
    }

    private static Command Remove()
    {
        var reference = new Argument<string>("model") { Description = "name[:tag]" };
        var command = new Command("rm", "Remove a model (its blob goes when no other name uses it).") { reference };
        command.SetAction(parse =>
        {
            var r = parse.GetValue(reference)!;
            if (!Store().Remove(r)) throw new CliException($"No model named '{r}'. See `sov models list`.");
            Console.WriteLine($"Removed {r}");
            return 0;
        });
        return command;
    }

    private static Command Template()
    {
        var reference = new Argument<string>("model") { Description = "name[:tag]" };
        var template = new Argument<string>("template") { Description = $"A template name ({string.Join(", ", ChatTemplates.Known.Order())}) or 'model' to use the model's own." };
        var command = new Command("template", "Set the chat template a model is run with.") { reference, template };
        command.SetAction(parse =>
        {
            var t = parse.GetValue(template)!;
            var m = Store().SetChatTemplate(parse.GetValue(reference)!, t == "model" ? null : t);
            Console.WriteLine($"{m.Reference} now uses {(m.ChatTemplateOverride ?? "the model's own chat template")}.");
            return 0;
        });
        return command;
    }

    private static ModelManifest Find(string reference) =>
        Store().Find(reference) ?? throw new CliException($"No model named '{reference}'. See `sov models list`.");
}
