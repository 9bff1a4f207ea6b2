using System.CommandLine;
using Sovereign.Models.Distribution;
using Sovereign.Core.Tenancy;
using Sovereign.Models.Store;
using Sovereign.Server.Tenancy;
using Spectre.Console;

namespace Sovereign.Cli.Commands;

/// <summary>
/// `sov models …`: works on the data folder directly, so it needs no running server; a server on the same
/// folder sees the change at once because the store reads manifests from disk. Changes (import, pull, remove, template)
/// are recorded in the same audit chain the server keeps (<see cref="CommandLineAuditLog"/>).
/// </summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var command = new Command("models", "Import, pull, export, list, show and remove models in the local store.");
        command.Subcommands.Add(Import());
        command.Subcommands.Add(Pull());
        command.Subcommands.Add(Export());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Remove());
        command.Subcommands.Add(Template());
        return command;
    }

    private static FileModelStore Store() => new(CliEnvironment.Paths);

    private static CommandLineAuditLog Audit() => new(CliEnvironment.Paths, CliEnvironment.Database);

    /// <summary>The store for a command that changes it: each change is audited once it has succeeded.</summary>
    private static AuditedModelStore Audited(CommandLineAuditLog audit) => new(Store(), audit);

    private static Command Import()
    {
        var file = new Argument<FileInfo>("file") { Description = "A GGUF model file, or a bundle (.tar) written by `sov models export`." };
        var name = new Option<string?>("--name") { Description = "name[:tag] to give it (default: the file name, tag latest)." };
        var template = new Option<string?>("--chat-template") { Description = $"Chat template to use instead of the model's own ({string.Join(", ", ChatTemplates.Known.Order())})." };
        var projector = new Option<FileInfo?>("--projector", "--mmproj")
        {
            Description = "A vision projector (mmproj GGUF) for the model: images in chat then go to the model instead of through OCR.",
        };
        var command = new Command("import", "Validate a GGUF file, or every model of a bundle, and add it to the store.") { file, name, template, projector };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            if (!path.Exists) throw new CliException($"No such file: {path.FullName}");
            if (ModelBundle.IsBundle(path.FullName))
            {
                if (parse.GetValue(name) is not null || parse.GetValue(template) is not null || parse.GetValue(projector) is not null)
                    throw new CliException("--name, --chat-template and --projector apply to a GGUF file; a bundle keeps the names and templates it was exported with.");
                await ImportBundleAsync(path, ct);
                return 0;
            }
            var modelName = parse.GetValue(name) is { } n ? ModelName.Parse(n, "--name") : null;
            await using var audit = Audit();
            var store = Audited(audit);
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
            if (parse.GetValue(projector) is { } mmproj)
            {
                if (!mmproj.Exists) throw new CliException($"No such file: {mmproj.FullName}");
                manifest = await store.SetProjectorAsync(manifest.Reference, mmproj.FullName, ct);
                Console.WriteLine($"Vision projector {manifest.ProjectorDigest} ({Format.Bytes(manifest.ProjectorSize ?? 0)})");
            }
            return 0;
        });
        return command;
    }

    private static async Task ImportBundleAsync(FileInfo path, CancellationToken ct)
    {
        IReadOnlyList<ModelManifest> models = [];
        await AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask($"Verifying {Markup.Escape(path.Name)}", maxValue: Math.Max(1, path.Length));
                models = await ModelBundle.ImportAsync(Store(), path.FullName, new Progress<BundleProgress>(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                }), ct);
                task.Value = task.MaxValue;
            });
        await using var audit = Audit();
        foreach (var m in models)
        {
            await audit.AppendAsync(new AuditEvent(AuditActions.ModelImported, m.Reference, $"from a bundle, {m.Digest}"), CancellationToken.None);
            Console.WriteLine($"Imported {m.Reference} ({m.Digest}, {Format.Bytes(m.Size)})");
        }
    }

    private static Command Pull()
    {
        var reference = new Argument<string>("model") { Description = "name[:tag] to fetch (tag defaults to latest)." };
        var mirror = new Option<string[]>("--mirror")
        {
            Description = "A mirror's base URL, e.g. http://node-a:8080 (repeatable; default: SOV_MIRRORS, comma-separated). SOV_MIRROR_KEY is sent as its bearer token.",
        };
        var command = new Command("pull", "Fetch a model from the organisation's mirrors into the local store, verifying every byte; an interrupted pull resumes.")
        {
            reference, mirror,
        };
        command.SetAction(async (parse, ct) =>
        {
            var given = parse.GetValue(mirror) ?? [];
            if (given.Length == 0 && Environment.GetEnvironmentVariable("SOV_MIRRORS") is { } fromEnvironment) given = [fromEnvironment];
            var settings = new MirrorSettings
            {
                Mirrors = MirrorSettings.ParseList(given, "SOV_MIRRORS"),
                Key = Environment.GetEnvironmentVariable("SOV_MIRROR_KEY") is { Length: > 0 } key ? key.Trim() : null,
            };
            if (settings.Mirrors.Count == 0)
                throw new CliException("No mirror to pull from: set SOV_MIRRORS=http://node-a:8080 (comma-separated for several) or pass --mirror URL.");
            var name = FileModelPuller.ParseReference(parse.GetValue(reference));
            var store = Store();
            await using var audit = Audit();
            using var files = new FileModelPuller(store, settings);
            var puller = new AuditedModelPuller(files, audit);
            await AnsiConsole.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new BlobColumn(new DownloadedColumn()),
                    new BlobColumn(new TransferSpeedColumn()))
                .StartAsync(async progress =>
                {
                    var status = progress.AddTask("pulling manifest", maxValue: 1).IsIndeterminate();
                    var blobs = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                    await foreach (var p in puller.PullAsync(name.ToString(), ct))
                    {
                        if (p.Digest is { } digest && p.Total is { } total)
                        {
                            if (!blobs.TryGetValue(digest, out var task))
                            {
                                blobs[digest] = task = progress.AddTask(Markup.Escape(p.Status), maxValue: Math.Max(1, total));
                                task.State.Update<bool>(BlobColumn.Key, _ => true);
                            }
                            task.Value = p.Completed ?? 0;
                            continue;
                        }
                        status.Description = Markup.Escape(p.Status);
                        if (p.Status == "success") status.IsIndeterminate(false).Value = 1;
                    }
                });
            var pulled = store.Get(name.ToString());
            Console.WriteLine($"Pulled {pulled.Reference} ({pulled.Digest}, {Format.Bytes(pulled.Size)}) from {pulled.Source}");
            return 0;
        });
        return command;
    }

    /// <summary>Shows a byte column only on the rows of blobs, not on the pull's status row.</summary>
    private sealed class BlobColumn(ProgressColumn inner) : ProgressColumn
    {
        public const string Key = "blob";

        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.State.Get<bool>(Key) ? inner.Render(options, task, deltaTime) : Text.Empty;
    }

    private static Command Export()
    {
        var models = new Argument<string[]>("models") { Description = "name[:tag] of each model to put in the bundle.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<FileInfo>("--output", "-o") { Description = "The bundle to write (a .tar file).", Required = true };
        var command = new Command("export", "Write models to a bundle (tar with a SHA256SUMS list) to carry to a machine without a network; `sov models import` reads it.")
        {
            models, output,
        };
        command.SetAction(async (parse, ct) =>
        {
            var target = parse.GetValue(output)!;
            IReadOnlyList<ModelManifest> exported = [];
            await AnsiConsole.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask($"Writing {Markup.Escape(target.Name)}", maxValue: 1);
                    exported = await ModelBundle.ExportAsync(Store(), parse.GetValue(models)!, target.FullName, new Progress<BundleProgress>(p =>
                    {
                        task.MaxValue = Math.Max(1, p.Total);
                        task.Value = p.Done;
                    }), ct);
                    task.Value = task.MaxValue;
                });
            Console.WriteLine($"Exported {string.Join(", ", exported.Select(m => m.Reference))} to {target.FullName} ({Format.Bytes(new FileInfo(target.FullName).Length)})");
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
            Row("vision projector", m.ProjectorDigest is { } projectorDigest ? $"{projectorDigest} ({Format.Bytes(m.ProjectorSize ?? 0)})" : "none (images are read by OCR)");
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
        command.SetAction(async (parse, _) =>
        {
            var r = parse.GetValue(reference)!;
            await using var audit = Audit();
            if (!Audited(audit).Remove(r)) throw new CliException($"No model named '{r}'. See `sov models list`.");
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
        command.SetAction(async (parse, _) =>
        {
            var t = parse.GetValue(template)!;
            await using var audit = Audit();
            var m = Audited(audit).SetChatTemplate(parse.GetValue(reference)!, t == "model" ? null : t);
            Console.WriteLine($"{m.Reference} now uses {(m.ChatTemplateOverride ?? "the model's own chat template")}.");
            return 0;
        });
        return command;
    }

    private static ModelManifest Find(string reference) =>
        Store().Find(reference) ?? throw new CliException($"No model named '{reference}'. See `sov models list`.");
}
