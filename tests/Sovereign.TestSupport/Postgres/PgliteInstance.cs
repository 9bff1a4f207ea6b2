using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;
using Sovereign.TestSupport.Models;

namespace Sovereign.TestSupport.Postgres;

/// <summary>
/// PostgreSQL with the pgvector extension, for tests of what Debian's PostgreSQL cannot do (Debian 12 packages no
/// pgvector): PGlite (PostgreSQL compiled to WebAssembly, with pgvector) served over the wire protocol by
/// pglite-socket, a Node.js program installed by <c>npm ci</c> in <c>tests/tools/pglite</c> (scripts/test.sh does it) and
/// started through that folder's <c>serve.mjs</c>.
/// It listens on 127.0.0.1 on a free port and holds one in-memory database, <c>postgres</c> (user and password
/// postgres). PGlite runs one query at a time and keeps a transaction to the connection that began it, so tests that
/// share an instance run one after another, each starting from <see cref="ResetAsync"/>. Disposing kills the server by
/// its PID. Thread-safe.
/// </summary>
public sealed class PgliteInstance : IAsyncDisposable
{
    /// <summary>Connections the server accepts at once (enough for two pools of 4).</summary>
    public const int MaxConnections = 8;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly Process _server;
    private readonly StringBuilder _output;
    private int _disposed;

    private PgliteInstance(Process server, StringBuilder output, int port)
    {
        _server = server;
        _output = output;
        Port = port;
    }

    public int Port { get; }

    /// <summary>
    /// A connection string for the database. A small pool: PGlite serves one query at a time however many connections
    /// wait, and accepts only <see cref="MaxConnections"/> of them.
    /// </summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Password = "postgres",
        Database = "postgres",
        MaxPoolSize = 4,
        // PGlite in WebAssembly is slower than a native server; a query waiting behind another's transaction waits longer.
        CommandTimeout = 120,
        Timeout = 60,
    }.ToString();

    /// <summary>The folder with PGlite's <c>package.json</c> and lock.</summary>
    public static string ToolFolder => Path.Combine(SharedModels.RepositoryRoot, "tests", "tools", "pglite");

    /// <summary>Starts a server and waits until it answers a query; throws, with the server's output, when it cannot.</summary>
    public static async Task<PgliteInstance> StartAsync()
    {
        var installed = Path.Combine(ToolFolder, "node_modules", "@electric-sql", "pglite-socket", "dist", "scripts", "server.js");
        if (!File.Exists(installed))
        {
            throw new InvalidOperationException(
                $"PGlite is not installed ({installed} is missing). Run `npm ci` in {ToolFolder} (scripts/test.sh does), with Node.js and npm installed.");
        }
        var script = Path.Combine(ToolFolder, "serve.mjs");
        var node = FindOnPath("node") ?? throw new InvalidOperationException(
            "Node.js is not installed (no `node` on PATH); the pgvector tests run PostgreSQL with pgvector in it. Install the 'nodejs' Debian package (scripts/apt-packages.txt lists it).");

        var port = FreePort();
        var start = new ProcessStartInfo(node)
        {
            WorkingDirectory = ToolFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { script, "--host=127.0.0.1", $"--port={port}", "--extensions=@electric-sql/pglite-pgvector:vector", $"--max-connections={MaxConnections}" })
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {node}.");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var instance = new PgliteInstance(process, output, port);
        try
        {
            await instance.WaitUntilReadyAsync();
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false, Timeout = 5 };
        while (true)
        {
            if (_server.HasExited)
                throw new InvalidOperationException($"The PGlite server exited with {_server.ExitCode} before it accepted connections: {Output()}");
            try
            {
                await using var connection = new NpgsqlConnection(builder.ToString());
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync();
                return;
            }
            catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
            {
                if (DateTime.UtcNow > deadline)
                    throw new InvalidOperationException($"The PGlite server did not accept connections on 127.0.0.1:{Port} within {StartTimeout.TotalSeconds} s ({e.Message}): {Output()}", e);
                await Task.Delay(200);
            }
        }
    }

    /// <summary>
    /// Empties the database, as a fresh one: schema <c>public</c> is dropped with everything in it (tables, the
    /// pgvector extension) and created again. Pools of earlier tests must be closed (their databases disposed).
    /// </summary>
    public async Task ResetAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("DROP EXTENSION IF EXISTS vector CASCADE; DROP SCHEMA public CASCADE; CREATE SCHEMA public;", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>What the server printed so far (for failure messages).</summary>
    public string Output()
    {
        lock (_output) return _output.ToString().Trim();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            if (!_server.HasExited)
            {
                _server.Kill(entireProcessTree: true);
                await _server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
        }
        _server.Dispose();
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
