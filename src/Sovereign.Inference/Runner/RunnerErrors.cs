using Grpc.Core;
using Sovereign.Core.Errors;

namespace Sovereign.Inference.Runner;

/// <summary>
/// Carries a <see cref="SovereignException"/> across the runner boundary (in gRPC trailers, or as the refusal frame of
/// the generation socket), so the server answers with the same status, message and code the engine chose.
/// </summary>
internal static class RunnerErrors
{
    private const string KindKey = "sov-kind";
    private const string CodeKey = "sov-code";
    private const string ParamKey = "sov-param";
    private const string RetryKey = "sov-retry-after-ms";

    public static RpcException ToRpc(SovereignException e)
    {
        var trailers = new Metadata { { KindKey, e.Kind.ToString() } };
        if (e.Code is not null) trailers.Add(CodeKey, e.Code);
        if (e.Param is not null) trailers.Add(ParamKey, e.Param);
        if (e.RetryAfter is { } r) trailers.Add(RetryKey, ((long)r.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var status = e.Kind switch
        {
            ErrorKind.InvalidRequest => StatusCode.InvalidArgument,
            ErrorKind.NotFound => StatusCode.NotFound,
            ErrorKind.RateLimited => StatusCode.ResourceExhausted,
            ErrorKind.Unavailable => StatusCode.Unavailable,
            _ => StatusCode.Internal,
        };
        return new RpcException(new Status(status, e.Message), trailers);
    }

    /// <summary>The engine's own error when the trailers carry one; null for transport failures.</summary>
    public static SovereignException? FromRpc(RpcException e)
    {
        var kindText = e.Trailers.GetValue(KindKey);
        if (kindText is null || !Enum.TryParse<ErrorKind>(kindText, out var kind)) return null;
        TimeSpan? retry = long.TryParse(e.Trailers.GetValue(RetryKey), out var ms) ? TimeSpan.FromMilliseconds(ms) : null;
        return new SovereignException(kind, e.Status.Detail, e.Trailers.GetValue(ParamKey), e.Trailers.GetValue(CodeKey)) { RetryAfter = retry };
    }

    public static Protocol.Refusal ToRefusal(SovereignException e) => new()
    {
        Kind = e.Kind.ToString(),
        Message = e.Message,
        Code = e.Code ?? "",
        Param = e.Param ?? "",
        RetryAfterMs = e.RetryAfter is { } r ? (long)r.TotalMilliseconds : 0,
    };

    public static SovereignException FromRefusal(Protocol.Refusal r) =>
        new(Enum.TryParse<ErrorKind>(r.Kind, out var kind) ? kind : ErrorKind.Internal, r.Message,
            r.Param.Length > 0 ? r.Param : null, r.Code.Length > 0 ? r.Code : null)
        {
            RetryAfter = r.RetryAfterMs > 0 ? TimeSpan.FromMilliseconds(r.RetryAfterMs) : null,
        };
}
