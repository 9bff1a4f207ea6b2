using Sovereign.Core.Errors;

namespace Sovereign.Models.Gguf;

/// <summary>
/// A GGUF file that is malformed, truncated or beyond the reader's limits. Always a 400 with code
/// <c>invalid_gguf</c>: the file came from the caller, so the caller has to fix it. Immutable.
/// </summary>
public sealed class GgufFormatException : SovereignException
{
    public const string ErrorCode = "invalid_gguf";

    public GgufFormatException(string fileName, string problem, long? offset = null, Exception? inner = null)
        : base(ErrorKind.InvalidRequest, Format(fileName, problem, offset), param: null, code: ErrorCode, inner: inner)
    {
        FileName = fileName;
        Problem = problem;
        Offset = offset;
    }

    /// <summary>The file's name (no folder), as shown in the message.</summary>
    public string FileName { get; }

    /// <summary>What is wrong, without the file name prefix.</summary>
    public string Problem { get; }

    /// <summary>The byte offset in the file where the problem was found, when there is one.</summary>
    public long? Offset { get; }

    private static string Format(string fileName, string problem, long? offset) =>
        offset is { } at
            ? $"Invalid GGUF file '{fileName}': {problem} (at byte {at})."
            : $"Invalid GGUF file '{fileName}': {problem}.";
}
