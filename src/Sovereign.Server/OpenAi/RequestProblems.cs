using Sovereign.Core.Errors;

namespace Sovereign.Server.OpenAi;

/// <summary>
/// Collects every problem of one request so the client learns them all at once. The first problem decides the
/// error's param and code; the message lists all of them. Not thread-safe (one per request).
/// </summary>
internal sealed class RequestProblems
{
    private readonly List<(string? Param, string Message, string? Code)> _problems = [];

    public bool Any => _problems.Count > 0;

    public void Add(string? param, string message, string? code = null) => _problems.Add((param, message, code));

    public void Missing(string param) => Add(param, $"Missing required parameter: '{param}'.", "missing_required_parameter");

    public void Unsupported(string param, string message) => Add(param, message, "unsupported_parameter");

    public void ThrowIfAny()
    {
        if (_problems.Count == 0) return;
        var (param, _, code) = _problems[0];
        throw new SovereignException(ErrorKind.InvalidRequest, string.Join(" ", _problems.Select(p => p.Message)), param, code);
    }
}
