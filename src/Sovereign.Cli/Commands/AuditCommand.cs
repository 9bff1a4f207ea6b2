using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Npgsql;
using Sovereign.Server.Tenancy;
using Spectre.Console;

namespace Sovereign.Cli.Commands;

/// <summary>
/// `sov audit verify` checks the audit chain in the data folder's database, or a cluster's PostgreSQL, directly (read-only;
/// no server needed, so it works on a copy of the file too); `sov audit list` shows your tenant's records through the server.
/// </summary>
internal static class AuditCommand
{
    public static Command Create()
    {
        var command = new Command("audit", "Check and list the audit log of administrative actions.");

        var database = new Option<string?>("--database")
        {
            Description = "The database file to check, or a cluster's PostgreSQL connection string (default: SOV_DATABASE when set, else sovereign.db in SOV_HOME).",
        };
        var verify = new Command("verify", "Check that no audit record was altered or deleted; exits 1 and says where when one was.") { database };
        verify.SetAction(parse =>
        {
            var target = parse.GetValue(database)
                ?? (Environment.GetEnvironmentVariable("SOV_DATABASE") is { Length: > 0 } shared ? shared : CliEnvironment.Paths.Database);
            var result = LooksLikeConnectionString(target) ? VerifyPostgres(target) : VerifySqlite(target);
            if (result.Intact)
            {
                Console.WriteLine($"Audit chain intact: {result.Records} records.");
                return 0;
            }
            Console.Error.WriteLine($"Audit chain BROKEN at record {result.Seq}: {result.Problem} ({result.Records} records before it check out.)");
            return 1;
        });

        var after = new Option<long?>("--after") { Description = "Only records after this sequence number." };
        var limit = new Option<int?>("--limit") { Description = "At most this many records (default 100)." };
        var list = new Command("list", "List your tenant's audit records (needs a running server and an admin key).") { after, limit };
        list.SetAction(async (parse, ct) =>
        {
            var query = new List<string>();
            if (parse.GetValue(after) is { } a) query.Add($"after={a}");
            if (parse.GetValue(limit) is { } l) query.Add($"limit={l}");
            using var client = new ServerClient();
            var body = await client.GetAsync("admin/audit" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), ct);
            var table = new Table().AddColumns("SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "DETAIL");
            foreach (var r in body["data"] as JsonArray ?? [])
            {
                string S(string f) => Markup.Escape(r?[f]?.ToString() ?? "—");
                var time = r?["at"] is JsonValue v && v.TryGetValue<long>(out var ms)
                    ? DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "—";
                table.AddRow(S("seq"), time, S("actor"), S("action"), S("target"), S("detail"));
            }
            AnsiConsole.Write(table);
            return 0;
        });

        command.Subcommands.Add(verify);
        command.Subcommands.Add(list);
        return command;
    }

    // A file path has no '='; every PostgreSQL connection string has at least "Host=…".
    private static bool LooksLikeConnectionString(string target) => target.Contains('=', StringComparison.Ordinal);

    private static AuditVerification VerifySqlite(string path)
    {
        if (!File.Exists(path)) throw new CliException($"No database at {path} (set SOV_HOME or --database).");
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        try
        {
            return AuditChain.Verify(connection);
        }
        catch (SqliteException e)
        {
            throw new CliException($"The audit log in {path} cannot be read: {e.Message}");
        }
    }

    private static AuditVerification VerifyPostgres(string connectionString)
    {
        NpgsqlConnectionStringBuilder parsed;
        try
        {
            parsed = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        }
        catch (ArgumentException e)
        {
            throw new CliException($"--database / SOV_DATABASE is neither a file nor a valid PostgreSQL connection string: {e.Message}");
        }
        try
        {
            using var connection = new NpgsqlConnection(parsed.ToString());
            connection.Open();
            // One snapshot, so records appended by running nodes during the walk do not look like damage.
            using var transaction = connection.BeginTransaction(System.Data.IsolationLevel.RepeatableRead);
            return AuditChain.Verify(connection);
        }
        catch (NpgsqlException e)
        {
            throw new CliException($"The audit log in PostgreSQL at {parsed.Host}:{parsed.Port}/{parsed.Database} cannot be read: {e.Message}");
        }
    }
}
