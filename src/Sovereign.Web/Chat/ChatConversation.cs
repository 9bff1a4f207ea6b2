using System.Text;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Web.Access;

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

    /// <summary>The passages the answer was given, numbered as it may cite them ([1], [2], …).</summary>
    public IReadOnlyList<WebCitation> Citations { get; internal set; } = [];

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

    /// <summary>The system message every request starts with (an app's instructions); null for none.</summary>
    public string? SystemPrompt { get; set; }

    /// <summary>
    /// When set, called with the question before each answer: its text joins the system message and its citations go
    /// with the answer. Null (or a null result) answers ungrounded.
    /// </summary>
    public Func<string, CancellationToken, Task<WebGrounding?>>? Ground { get; set; }

    /// <summary>Shows a kept conversation again, to continue it. Ignored while an answer is streaming.</summary>
    public void Load(IEnumerable<(string Role, string Text, IReadOnlyList<WebCitation> Citations)> messages)
    {
        if (IsGenerating) return;
        _turns.Clear();
        foreach (var (role, text, citations) in messages)
        {
            if (role is not (ChatTurn.User or ChatTurn.Assistant)) continue;
            _turns.Add(new ChatTurn(role, text) { Citations = citations });
        }
    }

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

        // Grounding and the system prompt are added for this request only; the turns on screen stay as typed.
        var question = history.LastOrDefault(m => m.Role == ChatTurn.User)?.Content;
        var system = SystemPrompt;
        try
        {
            if (Ground is not null && question is not null && await Ground(question, generation.Token) is { } grounding)
            {
                answer.Citations = grounding.Citations;
                system = system is null ? grounding.SystemText : system + "\n\n" + grounding.SystemText;
            }
        }
        catch (Exception ex) when (ex is SovereignException || (ex is OperationCanceledException && generation.IsCancellationRequested))
        {
            answer.State = ex is SovereignException ? TurnState.Failed : TurnState.Stopped;
            answer.Error = ex is SovereignException ? ex.Message : null;
            _generation = null;
            generation.Dispose();
            await changed();
            return;
        }
        if (system is not null) history.Insert(0, new ChatMessage("system", system));

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
