using System.Text.Json.Serialization;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Server.Errors;

/// <summary>OpenAI's error body: <c>{"error":{"message","type","param","code"}}</c>, param and code always present.</summary>
internal sealed record OpenAiErrorResponse(OpenAiError Error);

internal sealed record OpenAiError(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code)
{
    public static OpenAiError From(SovereignException e) => new(e.Message, SovereignException.OpenAiType(e.Kind), e.Param, e.Code);

    public static OpenAiError From(GenerationEvent.Failed failed) =>
        new(failed.Message, SovereignException.OpenAiType(failed.Kind), Param: null, failed.Code);

    /// <summary>What a client sees for a bug: no details, only where to look in the server's log.</summary>
    public static OpenAiError Internal(string requestId) =>
        new($"The server had an error while processing your request (request id {requestId}); its log has the details.",
            SovereignException.OpenAiType(ErrorKind.Internal), Param: null, Code: null);
}
