using Microsoft.AspNetCore.Http;
using Sovereign.Core.Options;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Server.Tenancy;

/// <summary>
/// The audit log for administrative commands that work on the data folder without the server (`sov models import`,
/// `remove`, `pull`, `template`, which must work with the server stopped): the same chain the server appends to, in the
/// node's SQLite database or, with <c>SOV_DATABASE</c>, the cluster's PostgreSQL. The database is opened (and the audit
/// tables created if the server never ran) only on the first record, so read-only commands never touch it. The actor is
/// <c>cli:&lt;operating-system user&gt;</c>. Not thread-safe: one command, one instance.
/// </summary>
public sealed class CommandLineAuditLog(SovereignPaths paths, string? database) : IAuditLog, IAsyncDisposable
{
    private IAuditLog? _log;
    private IDisposable? _database;

    public static string Actor => "cli:" + Environment.UserName;

    public async Task AppendAsync(AuditEvent entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _log ??= await OpenAsync(cancellationToken);
        await _log.AppendAsync(entry with { Actor = entry.Actor ?? Actor }, cancellationToken);
    }

    private async Task<IAuditLog> OpenAsync(CancellationToken cancellationToken)
    {
        // Only the tenancy module: its migrations are the ones that hold the chain; the server adds the rest when it starts.
        var noRequest = new HttpContextAccessor();
        if (string.IsNullOrWhiteSpace(database))
        {
            var sqlite = new SqliteDatabase(paths, [TenancySchema.Module]);
            _database = sqlite;
            sqlite.Migrate();
            return new SqliteAuditLog(sqlite, TimeProvider.System, noRequest);
        }
        var postgres = new PostgresDatabase(database, [TenancySchema.Module]);
        _database = postgres;
        await postgres.MigrateAsync(cancellationToken);
        return new PostgresAuditLog(postgres, TimeProvider.System, noRequest);
    }

    public ValueTask DisposeAsync()
    {
        _database?.Dispose();
        return ValueTask.CompletedTask;
    }
}
