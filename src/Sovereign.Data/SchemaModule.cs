namespace Sovereign.Data;

/// <summary>
/// One feature area's tables (tenancy, knowledge, apps, …) as an ordered list of migrations per database. Each area
/// owns its module, so areas add tables without editing one shared list; <see cref="SqliteDatabase"/> and
/// <see cref="PostgresDatabase"/> record each module's version in <c>schema_migrations</c>. The two lists are versioned
/// apart (a PostgreSQL schema may fold several SQLite steps into one). Append steps, never edit one that has shipped.
/// Register with <c>services.AddSingleton(new SchemaModule(...))</c>.
/// </summary>
/// <param name="Name">Stable module name, e.g. "knowledge".</param>
/// <param name="Migrations">SQLite SQL per version; step i brings the module from version i to i + 1.</param>
/// <param name="Order">Modules migrate in ascending order (a module whose tables reference another's sorts after it).</param>
public sealed record SchemaModule(string Name, IReadOnlyList<string> Migrations, int Order = 100)
{
    /// <summary>
    /// PostgreSQL SQL per version, for an area whose stores have a PostgreSQL implementation (used when
    /// <c>SOV_DATABASE</c> is set). Empty: the area keeps its tables in the node's SQLite database.
    /// </summary>
    public IReadOnlyList<string> PostgresMigrations { get; init; } = [];
}
