namespace Sovereign.Data;

/// <summary>
/// One feature area's tables (tenancy, knowledge, apps, …) as an ordered list of migrations. Each area owns its
/// module, so areas add tables without editing one shared list; <see cref="SqliteDatabase"/> records each module's
/// version in <c>schema_migrations</c>. Append steps, never edit one that has shipped.
/// Register with <c>services.AddSingleton(new SchemaModule(...))</c>.
/// </summary>
/// <param name="Name">Stable module name, e.g. "knowledge".</param>
/// <param name="Migrations">SQL per version; step i brings the module from version i to i + 1.</param>
/// <param name="Order">Modules migrate in ascending order (a module whose tables reference another's sorts after it).</param>
public sealed record SchemaModule(string Name, IReadOnlyList<string> Migrations, int Order = 100);
