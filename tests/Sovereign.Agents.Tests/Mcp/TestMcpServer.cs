using System.Diagnostics;
using Sovereign.Agents;

namespace Sovereign.Agents.Tests.Mcp;

/// <summary>Where the test MCP server (tests/Sovereign.Agents.TestMcpServer) was built, and how to configure or start it.</summary>
public static class TestMcpServer
{
    public static string Dll { get; } = Find();

    /// <summary>The stdio configuration an operator would write: <c>dotnet path/to/server.dll</c>.</summary>
    public static McpServerOptions Stdio() => new() { Command = "dotnet", Arguments = [Dll] };

    /// <summary>Starts it in HTTP mode and returns the process and its endpoint URL.</summary>
    public static async Task<(Process Process, string Url)> StartHttpAsync()
    {
        var process = Process.Start(new ProcessStartInfo("dotnet", [Dll, "--http"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process, line ?? throw new InvalidOperationException("The test MCP server printed no URL."));
    }

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sovereign.slnx"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("Sovereign.slnx not found above " + AppContext.BaseDirectory);
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var dll = Path.Combine(dir.FullName, "tests", "Sovereign.Agents.TestMcpServer", "bin", configuration, "net10.0", "Sovereign.Agents.TestMcpServer.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"The test MCP server is not built: {dll}");
    }
}
