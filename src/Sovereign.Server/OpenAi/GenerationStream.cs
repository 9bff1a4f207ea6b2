using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Server.Errors;

namespace Sovereign.Server.OpenAi;

/// <summary>
/// A generation whose first event has already arrived. The engine throws validation errors, an unknown model and a
/// full queue before the first event, so waiting for it before writing anything turns those into ordinary HTTP
/// errors; a <see cref="GenerationEvent.Failed"/> as the first event is thrown the same way. Not thread-safe.
/// </summary>
internal sealed class StartedGeneration : IAsyncDisposable
{
    private readonly IAsyncEnumerator<GenerationEvent> _rest;
    private readonly GenerationEvent _first;

    private StartedGeneration(IAsyncEnumerator<GenerationEvent> rest, GenerationEvent first)
    {
        _rest = rest;
        _first = first;
    }

    public static async Task<StartedGeneration> StartAsync(IInferenceService inference, GenerationRequest request, CancellationToken cancellationToken)
    {
        var events = inference.GenerateAsync(request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            if (!await events.MoveNextAsync())
                throw new SovereignException(ErrorKind.Internal, "The engine ended the generation without a result.", code: "engine_error");
            if (events.Current is GenerationEvent.Failed failed) throw ToException(failed);
            return new StartedGeneration(events, events.Current);
        }
        catch
        {
            await events.DisposeAsync();
            throw;
        }
    }

    /// <summary>Every event, the first one included. Enumerate once.</summary>
    public async IAsyncEnumerable<GenerationEvent> EventsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return _first;
        while (await _rest.MoveNextAsync())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return _rest.Current;
        }
    }

    public ValueTask DisposeAsync() => _rest.DisposeAsync();

    public static SovereignException ToException(GenerationEvent.Failed failed) =>
        new(failed.Kind, failed.Message, code: failed.Code);
}

/// <summary>The outcome of a generation read to its end.</summary>
internal sealed record CollectedGeneration(string Text, FinishReason Reason, GenerationUsage Usage);

/// <summary>Turns generation events into OpenAI responses, whole or streamed. Stateless; thread-safe.</summary>
internal static class GenerationStream
{
    /// <summary>Reads every event; a <see cref="GenerationEvent.Failed"/> is thrown as the error it describes.</summary>
    public static async Task<CollectedGeneration> CollectAsync(IAsyncEnumerable<GenerationEvent> events, CancellationToken cancellationToken)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var e in events.WithCancellation(cancellationToken))
        {
            switch (e)
            {
                case GenerationEvent.TextDelta delta:
                    text.Append(delta.Text);
                    break;
                case GenerationEvent.Finished finished:
                    return new CollectedGeneration(text.ToString(), finished.Reason, finished.Usage);
                case GenerationEvent.Failed failed:
                    throw StartedGeneration.ToException(failed);
            }
        }
        throw new SovereignException(ErrorKind.Internal, "The engine ended the generation without a result.", code: "engine_error");
    }

    /// <summary>
    /// Streams a generation as OpenAI's server-sent events:
    /// <list type="number">
    /// <item>the opening chunk (chat: <c>delta {role: assistant, content: ""}</c>);</item>
    /// <item>one chunk per text delta;</item>
    /// <item>on Finished: a chunk with an empty delta and finish_reason, then the usage chunk when asked for;</item>
    /// <item>on Failed, an engine exception or a stream that ends early: an in-band <c>{"error": …}</c> event;</item>
    /// <item>always <c>[DONE]</c> last.</item>
    /// </list>
    /// Cancellation (the client went away) propagates as <see cref="OperationCanceledException"/> without writing more.
    /// Returns the usage when the generation finished, else null.
    /// </summary>
    public static async Task<GenerationEvent.Finished?> WriteAsync(SseWriter sse, ResponseFormat format, IAsyncEnumerable<GenerationEvent> events,
        bool includeUsage, ILogger logger, CancellationToken cancellationToken)
    {
        // :: Step 1: the opening chunk.
        await format.WriteOpeningAsync(sse, cancellationToken);

        OpenAiError? error = null;
        await using (var e = events.GetAsyncEnumerator(cancellationToken))
        {
            while (error is null)
            {
                GenerationEvent current;
                try
                {
                    if (!await e.MoveNextAsync())
                    {
                        logger.GenerationEndedEarly(format.Id);
                        error = new OpenAiError("The engine ended the generation without a result.", SovereignException.OpenAiType(ErrorKind.Internal), null, "engine_error");
                        continue;
                    }
                    current = e.Current;
                }
                catch (SovereignException x) when (!cancellationToken.IsCancellationRequested)
                {
                    logger.GenerationFailed(format.Id, x.Kind, x.Code, x.Message);
                    error = OpenAiError.From(x);
                    continue;
                }
                catch (Exception x) when (!cancellationToken.IsCancellationRequested)
                {
                    logger.GenerationCrashed(x, format.Id);
                    error = OpenAiError.Internal(format.Id);
                    continue;
                }

                switch (current)
                {
                    // :: Step 2: text.
                    case GenerationEvent.TextDelta delta when delta.Text.Length > 0:
                        await format.WriteDeltaAsync(sse, delta.Text, cancellationToken);
                        break;
                    // :: Step 3: the end, with usage when asked for, and [DONE].
                    case GenerationEvent.Finished finished:
                        await format.FlushAsync(sse, cancellationToken);
                        await format.WriteFinishAsync(sse, finished.Reason, cancellationToken);
                        if (includeUsage) await format.WriteUsageAsync(sse, finished.Usage, cancellationToken);
                        await sse.WriteDoneAsync(cancellationToken);
                        return finished;
                    case GenerationEvent.Failed failed:
                        logger.GenerationFailed(format.Id, failed.Kind, failed.Code, failed.Message);
                        error = OpenAiError.From(failed);
                        break;
                }
            }
        }

        // :: Step 4: a failure after the stream started can only be told in-band.
        await sse.WriteErrorAsync(error, cancellationToken);
        await sse.WriteDoneAsync(cancellationToken);
        return null;
    }
}
