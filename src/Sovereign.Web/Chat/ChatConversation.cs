using System.Text;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Web.Chat;

public enum TurnState
{
    Done,
    Streaming,
    Stopped,
    Failed,
}

/// <summary>One message of the conversation on screen. Changed only on the circuit's thread.</summary>
public sealed class ChatTurn(string role, string text = "", TurnState state = TurnState.Done)
{
    public const string User = "user";
    public const string Assistant = "assistant";

    private readonly StringBuilder _text = new(text);

    public string Role { get; } = role;
    public string Text => _text.ToString();
    public TurnState State { get; internal set; } = state;
    public string? Error { get; internal set; }
    public int Tokens { get; internal set; }
    public GenerationUsage? Usage { get; internal set; }
    public FinishReason? Finish { get; internal set; }

    internal void Append(string delta) => _text.Append(delta);

    internal void Replace(string text) => _text.Clear().Append(text);
}

/// <summary>Per-conversation sampling choices, as in the API.</summary>
public sealed class ChatSettings
{
    public float Temperature { get; set; } = 0.8f;
    /// <summary>Null: until the model stops or the context is full.</summary>
    public int? MaxTokens { get; set; }
    /// <summary>Keep going past the end of text (the API's ignore_eos): fixed-length answers, for trying throughput.</summary>
    public bool IgnoreEos { get; set; }
}

/// <summary>
/// A chat with one model, streamed from the real engine: send, stop, regenerate the last answer, edit a question
/// and send it again. Not thread-safe: a Blazor circuit calls it from its one synchronisation context, and
/// <c>changed</c> asks the page to render (at most every <see cref="RenderInterval"/> while tokens stream).
/// </summary>
public sealed class ChatConversation(IInferenceService engine, TimeProvider time) : IDisposable
{
    public static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(50);

    private readonly List<ChatTurn> _turns = [];
    private CancellationTokenSource? _generation;

    public IReadOnlyList<ChatTurn> Turns => _turns;
    public bool IsGenerating => _generation is not null;
    public ChatSettings Settings { get; } = new();

    /// <summary>Adds the question and streams the answer. Ignored while an answer is streaming or the text is blank.</summary>
    public Task SendAsync(string model, string text, Func<Task> changed)
    {
        if (IsGenerating || string.IsNullOrWhiteSpace(text)) return Task.CompletedTask;
        _turns.Add(new ChatTurn(ChatTurn.User, text.Trim()));
        return GenerateAsync(model, changed);
    }

    /// <summary>Drops the last answer and asks again with the same history.</summary>
    public Task RegenerateAsync(string model, Func<Task> changed)
    {
        if (IsGenerating || _turns.Count == 0 || _turns[^1].Role != ChatTurn.Assistant) return Task.CompletedTask;
        _turns.RemoveAt(_turns.Count - 1);
        return GenerateAsync(model, changed);
    }

    /// <summary>Replaces the question at <paramref name="index"/>, forgets everything after it, and asks again.</summary>
    public Task EditAndResendAsync(int index, string text, string model, Func<Task> changed)
    {
        if (IsGenerating || string.IsNullOrWhiteSpace(text) || index < 0 || index >= _turns.Count || _turns[index].Role != ChatTurn.User)
            return Task.CompletedTask;
        _turns.RemoveRange(index + 1, _turns.Count - index - 1);
        _turns[index].Replace(text.Trim());
        return GenerateAsync(model, changed);
    }

    /// <summary>Stops the streaming answer; what arrived so far stays, marked stopped. The engine frees the sequence within a step.</summary>
    public void Stop() => _generation?.Cancel();

    public void Clear()
    {
        if (!IsGenerating) _turns.Clear();
    }

    private async Task GenerateAsync(string model, Func<Task> changed)
    {
        var history = _turns.Where(t => t.State is TurnState.Done or TurnState.Stopped && t.Text.Length > 0)
            .Select(t => new ChatMessage(t.Role, t.Text)).ToList();
        var answer = new ChatTurn(ChatTurn.Assistant, state: TurnState.Streaming);
        _turns.Add(answer);
        var generation = _generation = new CancellationTokenSource();
        await changed();

        var request = new GenerationRequest
        {
            Id = "web-" + Guid.NewGuid().ToString("N"),
            Model = model,
            Messages = history,
            MaxTokens = Settings.MaxTokens,
            IgnoreEos = Settings.IgnoreEos,
            Sampling = new SamplingParameters { Temperature = Settings.Temperature },
        };
        var lastRender = time.GetTimestamp();
        try
        {
            await foreach (var e in engine.GenerateAsync(request, generation.Token).WithCancellation(generation.Token))
            {
                switch (e)
                {
                    case GenerationEvent.TextDelta delta:
                        answer.Append(delta.Text);
                        answer.Tokens += delta.Tokens;
                        if (time.GetElapsedTime(lastRender) >= RenderInterval)
                        {
                            lastRender = time.GetTimestamp();
                            await changed();
                        }
                        break;
                    case GenerationEvent.Finished finished:
                        answer.State = TurnState.Done;
                        answer.Usage = finished.Usage;
                        answer.Finish = finished.Reason;
                        break;
                    case GenerationEvent.Failed failed:
                        answer.State = TurnState.Failed;
                        answer.Error = failed.Message;
                        break;
                }
            }
            // The engine ends a cancelled stream quietly (no exception, no Finished event), so a stop is told by the
            // token, not by how the stream ended.
            if (answer.State == TurnState.Streaming) answer.State = generation.IsCancellationRequested ? TurnState.Stopped : TurnState.Done;
        }
        catch (OperationCanceledException) when (generation.IsCancellationRequested)
        {
            answer.State = TurnState.Stopped;
        }
        catch (SovereignException ex)
        {
            answer.State = TurnState.Failed;
            answer.Error = ex.Message;
        }
        finally
        {
            _generation = null;
            generation.Dispose();
        }
        await changed();
    }

    public void Dispose()
    {
        _generation?.Cancel();
    }
}
