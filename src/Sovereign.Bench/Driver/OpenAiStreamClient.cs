using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Driver;

/// <summary>A seconds clock shared by every stream of a run (monotonic, high resolution). Thread-safe.</summary>
public sealed class BenchClock
{
    private readonly long _start = Stopwatch.GetTimestamp();

    /// <summary>Seconds since the clock was made.</summary>
    public double Now => Stopwatch.GetElapsedTime(_start).TotalSeconds;
}

/// <summary>One streamed text completion to ask for.</summary>
/// <param name="Model">The model's name at the endpoint.</param>
/// <param name="Prompt">Raw prompt text (no chat template).</param>
/// <param name="MaxTokens">Tokens to generate; with end-of-sequence ignored this is exactly how many come back.</param>
public sealed record CompletionCall(string Model, string Prompt, int MaxTokens)
{
    /// <summary>Called on the reading thread as each piece of text arrives, with its arrival time. Optional.</summary>
    public Action<double>? OnText { get; init; }

    /// <summary>
    /// Ends the stream early when cancelled: the connection is closed (a server then frees the sequence) and the
    /// trace so far is returned as a success with finish reason "stopped". Optional.
    /// </summary>
    public CancellationToken Stop { get; init; }

    /// <summary>Longest the whole stream may take before it is abandoned (and recorded as failed). Default 10 minutes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// Drives an OpenAI-compatible endpoint: streamed <c>POST /v1/completions</c> with temperature 0 and a fixed length
/// (<c>ignore_eos</c>, llama.cpp's and vLLM's extension, which Sovereign accepts too), timing every piece of text as it
/// arrives. Talks to its one base address and nothing else; no proxy is consulted. Thread-safe: streams run
/// concurrently, one connection each.
/// </summary>
public sealed class OpenAiStreamClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly BenchClock _clock;
    private volatile bool _ignoreEos = true;

    public OpenAiStreamClient(Uri baseAddress, string? apiKey, BenchClock clock)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
        BaseAddress = NormaliseBase(baseAddress);
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = 256,
            ConnectCallback = ConnectBlocking,
        })
        {
            BaseAddress = BaseAddress,
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
        if (!string.IsNullOrEmpty(apiKey)) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    /// <summary>
    /// Connects with a blocking call. A socket that sees only synchronous calls stays in blocking mode and is never
    /// registered with .NET's socket engine, so a blocking read that waits for the next piece of text wakes only its
    /// own thread; after one asynchronous call, every read would also wake the engine's thread.
    /// </summary>
    private static ValueTask<Stream> ConnectBlocking(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var abort = cancellationToken.Register(socket.Dispose);
            socket.Connect(context.DnsEndPoint);
            return ValueTask.FromResult<Stream>(new NetworkStream(socket, ownsSocket: true));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The server's root (any trailing <c>/v1</c> removed), ending in a slash.</summary>
    public Uri BaseAddress { get; }

    /// <summary>False once the endpoint refused <c>ignore_eos</c>; lengths may then fall short of max_tokens.</summary>
    public bool IgnoreEosAccepted => _ignoreEos;

    /// <summary>"http://h:p/v1/" and "http://h:p" both become "http://h:p/".</summary>
    public static Uri NormaliseBase(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var text = address.GetLeftPart(UriPartial.Path).TrimEnd('/');
        if (text.EndsWith("/v1", StringComparison.OrdinalIgnoreCase)) text = text[..^3];
        return new Uri(text + "/");
    }

    /// <summary>GET a JSON document (e.g. <c>health</c>); null when the endpoint has none or answers with an error.</summary>
    public async Task<JsonNode?> TryGetJsonAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            // Not pooled: a connection this asynchronous call used would be registered with the socket engine, and a
            // stream's synchronous Send that was handed it later would read through the engine again.
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.ConnectionClose = true;
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) return null;
            return JsonNode.Parse(await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false));
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or JsonException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Runs one streamed completion to its end and returns what the client saw. Never throws for what the server does
    /// (an error status, an in-band error, a dropped connection, the call's timeout): those end up in
    /// <see cref="StreamTrace.Error"/>. Throws <see cref="OperationCanceledException"/> only when
    /// <paramref name="cancellationToken"/> is cancelled; a stream cancelled that way is abandoned.
    /// </summary>
    public async Task<StreamTrace> CompleteAsync(CompletionCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var trace = await SendAsync(call, _ignoreEos, cancellationToken).ConfigureAwait(false);
        // An endpoint that refuses the extension still gets measured, without it (and the run says so).
        if (_ignoreEos && trace.Error is { } error && error.StartsWith("HTTP 400", StringComparison.Ordinal)
            && error.Contains("ignore_eos", StringComparison.OrdinalIgnoreCase))
        {
            _ignoreEos = false;
            trace = await SendAsync(call, ignoreEos: false, cancellationToken).ConfigureAwait(false);
        }
        return trace;
    }

    /// <summary>
    /// Runs <see cref="Send"/> on a thread of its own, with HttpClient's synchronous calls only, on a connection made by
    /// <see cref="ConnectBlocking"/>: each piece of text then costs the client one wake-up, the blocking read's return,
    /// where asynchronous reads cost the socket engine's thread, a pool worker and HttpClient's hand-offs. On a machine
    /// whose cores all decode, a client that takes CPU per token slows the server it measures.
    /// </summary>
    private Task<StreamTrace> SendAsync(CompletionCall call, bool ignoreEos, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Send(call, ignoreEos, cancellationToken), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private StreamTrace Send(CompletionCall call, bool ignoreEos, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["model"] = call.Model,
            ["prompt"] = call.Prompt,
            ["max_tokens"] = call.MaxTokens,
            ["temperature"] = 0,
            ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        if (ignoreEos) body["ignore_eos"] = true;
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = content };
        // A connection of its own: HttpClient reads ahead, asynchronously, on a connection it pools (to notice a close),
        // which would take the socket out of blocking mode (see ConnectBlocking).
        request.Headers.ConnectionClose = true;

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call.Stop);
        timeout.CancelAfter(call.Timeout);
        var chunks = new List<double>(call.MaxTokens + 1);
        var lengths = new List<int>(call.MaxTokens + 1);
        int? promptTokens = null, completionTokens = null;
        string? finish = null;
        var sentAt = _clock.Now;

        StreamTrace Result(string? error) => new()
        {
            SentAt = sentAt,
            ChunkTimes = chunks,
            ChunkLengths = lengths,
            EndedAt = _clock.Now,
            PromptTokens = promptTokens,
            CompletionTokens = completionTokens,
            FinishReason = finish,
            Error = error,
        };

        try
        {
            try
            {
                using var response = _http.Send(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if (!response.IsSuccessStatusCode)
                {
                    using var error = new StreamReader(response.Content.ReadAsStream(timeout.Token), Encoding.UTF8);
                    return Result($"HTTP {(int)response.StatusCode}: {ErrorMessage(error.ReadToEnd())}");
                }
                // A blocking read does not watch a token: closing the response ends it (with an IOException).
                using var closeOnCancel = timeout.Token.Register(response.Dispose);
                using var reader = new StreamReader(response.Content.ReadAsStream(timeout.Token), Encoding.UTF8);
                while (reader.ReadLine() is { } line)
                {
                    if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
                    var now = _clock.Now;
                    var data = line.AsSpan(5).Trim();
                    if (data.SequenceEqual("[DONE]")) return Result(null);
                    var chunk = SseChunk.Parse(data);
                    if (chunk.Error is { } inBand) return Result($"error in stream: {inBand}");
                    if (chunk.HasText)
                    {
                        chunks.Add(now);
                        lengths.Add(chunk.TextLength);
                        call.OnText?.Invoke(now);
                    }
                    finish = chunk.FinishReason ?? finish;
                    promptTokens = chunk.PromptTokens ?? promptTokens;
                    completionTokens = chunk.CompletionTokens ?? completionTokens;
                }
                // Some servers end the stream without [DONE]; what arrived still counts.
                return Result(finish is null && completionTokens is null ? "the stream ended without a final chunk" : null);
            }
            catch (Exception e) when (timeout.IsCancellationRequested && e is IOException or ObjectDisposedException or HttpRequestException)
            {
                // The read that the cancellation ended; why it was cancelled decides what the trace says.
                throw new OperationCanceledException(timeout.Token);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (OperationCanceledException) when (call.Stop.IsCancellationRequested)
        {
            finish = "stopped";
            return Result(null);
        }
        catch (OperationCanceledException)
        {
            return Result($"no answer within {call.Timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException e)
        {
            return Result($"connection failed: {e.Message}");
        }
        catch (IOException e)
        {
            return Result($"connection failed: {e.Message}");
        }
    }

    private static string ErrorMessage(string body)
    {
        try
        {
            var node = JsonNode.Parse(body);
            if (node?["error"] is JsonObject error && error["message"] is JsonValue m && m.TryGetValue<string>(out var message)) return message;
            if (node?["error"] is JsonValue plain && plain.TryGetValue<string>(out var text)) return text;
        }
        catch (JsonException)
        {
        }
        return body.Length > 300 ? body[..300] : body;
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>What the benchmark needs from one server-sent event of a completion stream. Immutable.</summary>
/// <param name="TextLength">Characters of text the chunk carries (0 for none).</param>
internal readonly record struct SseChunk(int TextLength, string? FinishReason, int? PromptTokens, int? CompletionTokens, string? Error)
{
    public bool HasText => TextLength > 0;

    /// <summary>
    /// Reads a <c>text_completion</c> chunk (<c>choices[0].text</c>) or a <c>chat.completion.chunk</c>
    /// (<c>choices[0].delta.content</c>), its finish_reason, a usage object, or an in-band <c>error</c>. Anything that
    /// is not JSON is reported as an error rather than thrown.
    /// </summary>
    public static SseChunk Parse(ReadOnlySpan<char> data)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data.ToString());
        }
        catch (JsonException e)
        {
            return new SseChunk(0, null, null, null, $"not JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return default;
            if (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
            {
                var message = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
                    ? m.GetString()
                    : error.ToString();
                return new SseChunk(0, null, null, null, message ?? "unknown error");
            }
            var textLength = 0;
            string? finish = null;
            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                if (choice.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    textLength = text.GetString()!.Length;
                else if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object
                    && delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                    textLength = content.GetString()!.Length;
                if (choice.TryGetProperty("finish_reason", out var reason) && reason.ValueKind == JsonValueKind.String)
                    finish = reason.GetString();
            }
            int? prompt = null, completion = null;
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                if (usage.TryGetProperty("prompt_tokens", out var p) && p.TryGetInt32(out var pt)) prompt = pt;
                if (usage.TryGetProperty("completion_tokens", out var c) && c.TryGetInt32(out var ct)) completion = ct;
            }
            return new SseChunk(textLength, finish, prompt, completion, null);
        }
    }
}
