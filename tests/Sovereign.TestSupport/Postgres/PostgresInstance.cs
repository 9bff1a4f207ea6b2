using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Sovereign.TestSupport.Postgres;

/// <summary>
/// A real PostgreSQL server from Debian's packages (<c>/usr/lib/postgresql/*/bin</c>), started for tests in a temporary
/// folder, listening on 127.0.0.1 on a free port, trusting local connections. As root, <c>initdb</c> and <c>pg_ctl</c>
/// run as the <c>postgres</c> user (PostgreSQL refuses to run as root) in a folder it owns. Disposing stops the server
/// (<c>pg_ctl stop</c>, then its postmaster PID if that failed) and deletes the folder. Each test class takes a fresh
/// database with <see cref="CreateDatabaseAsync"/>, so one server serves many classes. Thread-safe.
/// </summary>
public sealed class PostgresInstance : IAsyncDisposable
{
    private const string Superuser = "sov";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);
    private static int _databases;

    private readonly string _bin;
    private readonly string _root;
    private readonly bool _asPostgresUser;
    private int _disposed;

    private PostgresInstance(string bin, string root, bool asPostgresUser, int port)
    {
        _bin = bin;
        _root = root;
        _asPostgresUser = asPostgresUser;
        Port = port;
    }

    public int Port { get; }

    private string DataDirectory => Path.Combine(_root, "data");

    /// <summary>A connection string for <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Superuser,
        Database = database,
        // Each test server keeps its own pool; a small one keeps many servers within max_connections.
        MaxPoolSize = 20,
    }.ToString();

    /// <summary>Where PostgreSQL's binaries are (the newest installed major version), or null when it is not installed.</summary>
    public static string? FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root)) return null;
        return Directory.GetDirectories(root)
            .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0))
            .Where(x => File.Exists(Path.Combine(x.Dir, "initdb")) && File.Exists(Path.Combine(x.Dir, "pg_ctl")))
            .OrderByDescending(x => x.Version)
            .Select(x => x.Dir)
            .FirstOrDefault();
    }

    /// <summary>Creates a cluster in a temporary folder and starts it; throws with PostgreSQL's own output when that fails.</summary>
    public static async Task<PostgresInstance> StartAsync()
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). Install the 'postgresql' Debian package (scripts/apt-packages.txt lists it).");
        var asPostgresUser = Environment.UserName == "root";
        var root = Path.Combine(Path.GetTempPath(), "sov-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        if (asPostgresUser) await RunAsync("chown", ["postgres:postgres", root], asPostgresUser: false);

        // A port taken between our probe and PostgreSQL's bind makes the start fail; another free port then helps.
        for (var attempt = 1; ; attempt++)
        {
            var instance = new PostgresInstance(bin, root, asPostgresUser, FreePort());
            try
            {
                if (attempt == 1)
                {
                    await instance.RunPgAsync("initdb", ["-D", instance.DataDirectory, "-U", Superuser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
                }
                await instance.RunPgAsync("pg_ctl", ["-D", instance.DataDirectory, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "start", "-o",
                    $"-p {instance.Port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"]);
                return instance;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Try the next port; initdb's cluster is kept.
            }
            catch
            {
                await instance.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Creates an empty database with a fresh name and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "sov_test_" + Interlocked.Increment(ref _databases).ToString(CultureInfo.InvariantCulture) + "_" + Guid.NewGuid().ToString("N")[..6];
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        NpgsqlConnection.ClearAllPools();
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await RunPgAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"]);
            }
            catch (InvalidOperationException)
            {
                KillPostmaster();
            }
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The last resort when pg_ctl could not stop the server: the postmaster by the PID in its pid file.</summary>
    private void KillPostmaster()
    {
        try
        {
            var firstLine = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First();
            using var process = Process.GetProcessById(int.Parse(firstLine.Trim(), CultureInfo.InvariantCulture));
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is IOException or ArgumentException or FormatException or InvalidOperationException)
        {
        }
    }

    private Task RunPgAsync(string tool, IReadOnlyList<string> arguments) =>
        RunAsync(Path.Combine(_bin, tool), arguments, _asPostgresUser);

    private static async Task RunAsync(string program, IReadOnlyList<string> arguments, bool asPostgresUser)
    {
        var start = new ProcessStartInfo(asPostgresUser ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgresUser)
        {
            foreach (var a in new[] { "-u", "postgres", "--", program }) start.ArgumentList.Add(a);
        }
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Path.GetFileName(program)} did not finish within {CommandTimeout.TotalSeconds} s.");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(program)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr} {await stdout}".Trim());
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
