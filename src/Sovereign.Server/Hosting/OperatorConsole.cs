namespace Sovereign.Server.Hosting;

/// <summary>
/// Where the server tells the person who started it something they must see once (the generated admin key),
/// apart from the logs so secrets never reach a log sink. Implementations are thread-safe.
/// </summary>
internal interface IOperatorConsole
{
    void WriteNotice(IReadOnlyList<string> lines);
}

/// <summary>Writes notices to standard output inside a rule, so they stand out among log lines.</summary>
internal sealed class StandardOperatorConsole : IOperatorConsole
{
    private readonly Lock _gate = new();

    public void WriteNotice(IReadOnlyList<string> lines)
    {
        var width = Math.Max(40, lines.Max(l => l.Length) + 4);
        var rule = new string('=', width);
        lock (_gate)
        {
            var output = Console.Out;
            output.WriteLine();
            output.WriteLine(rule);
            foreach (var line in lines) output.WriteLine("  " + line);
            output.WriteLine(rule);
            output.WriteLine();
            output.Flush();
        }
    }
}
