namespace Sovereign.Core.Errors;

/// <summary>What kind of failure an error is; each maps to one HTTP status and one OpenAI error type.</summary>
public enum ErrorKind
{
    InvalidRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Unavailable,
    Internal,
}

/// <summary>
/// An error the platform reports to its caller with a clear message. Anything else that escapes is a bug
/// and is reported as a 500 without its details. Immutable; safe to share.
/// </summary>
public class SovereignException : Exception
{
    public SovereignException(ErrorKind kind, string message, string? param = null, string? code = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        Param = param;
        Code = code;
    }

    public ErrorKind Kind { get; }

    /// <summary>The request field at fault, when there is one (OpenAI's <c>param</c>).</summary>
    public string? Param { get; }

    /// <summary>A stable machine-readable code (OpenAI's <c>code</c>), e.g. <c>model_not_found</c>.</summary>
    public string? Code { get; }

    /// <summary>For <see cref="ErrorKind.RateLimited"/> and <see cref="ErrorKind.Unavailable"/>: when to try again.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public int HttpStatus => StatusFor(Kind);

    public static int StatusFor(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidRequest => 400,
        ErrorKind.Unauthorized => 401,
        ErrorKind.Forbidden => 403,
        ErrorKind.NotFound => 404,
        ErrorKind.Conflict => 409,
        ErrorKind.PayloadTooLarge => 413,
        ErrorKind.UnsupportedMediaType => 415,
        ErrorKind.RateLimited => 429,
        ErrorKind.Unavailable => 503,
        _ => 500,
    };

    /// <summary>OpenAI's <c>error.type</c> for this kind.</summary>
    public static string OpenAiType(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidRequest or ErrorKind.NotFound or ErrorKind.Conflict or ErrorKind.PayloadTooLarge or ErrorKind.UnsupportedMediaType => "invalid_request_error",
        ErrorKind.Unauthorized => "authentication_error",
        ErrorKind.Forbidden => "permission_error",
        ErrorKind.RateLimited => "rate_limit_error",
        ErrorKind.Unavailable => "service_unavailable",
        _ => "server_error",
    };

    public static SovereignException Invalid(string message, string? param = null, string? code = null) =>
        new(ErrorKind.InvalidRequest, message, param, code);

    public static SovereignException NotFound(string message, string? param = null, string? code = null) =>
        new(ErrorKind.NotFound, message, param, code);
}
