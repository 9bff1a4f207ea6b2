using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sovereign.Bench.Driver;
using Sovereign.Bench.Reporting;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Workloads;

/// <summary>
/// Embedding throughput through <c>POST /v1/embeddings</c>: texts per second at batch sizes 1, 8 and 32 (inputs per
/// request), one request at a time, so the figure is what batching inside the model buys. Every text is different
/// (about <see cref="WordsPerText"/> words, like a short passage), so no cache can help. Per batch size: one warm-up
/// request, then requests until at least <c>minimumRequests</c> were made and <c>minimum</c> has passed (never more
/// than <see cref="MaxRequestsPerLevel"/>).
/// </summary>
internal static class EmbeddingsWorkload
{
    public static IReadOnlyList<int> BatchSizes { get; } = [1, 8, 32];

    public const int WordsPerText = 48;
    public const int MaxRequestsPerLevel = 200;

    public static async Task<EmbeddingsReport> RunAsync(Uri endpoint, string? apiKey, string model, TimeSpan minimum, int minimumRequests,
        CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = OpenAiStreamClient.NormaliseBase(endpoint),
            Timeout = TimeSpan.FromMinutes(5),
        };
        if (!string.IsNullOrEmpty(apiKey)) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

        var report = new EmbeddingsReport { Status = "measured", Model = model, WordsPerText = WordsPerText };
        var textIndex = 0;
        foreach (var batch in BatchSizes)
        {
            try
            {
                // :: Warm-up (loads the model on first use; not counted).
                var warm = await PostAsync(http, model, NextTexts(batch, ref textIndex), cancellationToken).ConfigureAwait(false);
                report.Dimensions ??= warm.Dimensions;

                // :: Timed requests, one at a time.
                var latencies = new List<double>();
                long tokens = 0;
                var texts = 0;
                var clock = Stopwatch.StartNew();
                while (latencies.Count < MaxRequestsPerLevel && (latencies.Count < minimumRequests || clock.Elapsed < minimum))
                {
                    var started = clock.Elapsed;
                    var response = await PostAsync(http, model, NextTexts(batch, ref textIndex), cancellationToken).ConfigureAwait(false);
                    latencies.Add((clock.Elapsed - started).TotalMilliseconds);
                    tokens += response.PromptTokens;
                    texts += batch;
                }
                var seconds = clock.Elapsed.TotalSeconds;
                report.Levels.Add(new EmbeddingsLevel
                {
                    BatchSize = batch,
                    Requests = latencies.Count,
                    Texts = texts,
                    Seconds = seconds,
                    TextsPerSecond = Statistics.Rate(texts, seconds),
                    TokensPerSecond = Statistics.Rate(tokens, seconds),
                    RequestMs = Summary.Of(latencies),
                });
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                report.Errors.Add($"batch {batch}: {e.Message}");
            }
        }
        double? Rate(int batch) => report.Levels.FirstOrDefault(l => l.BatchSize == batch)?.TextsPerSecond;
        report.Batch8OverBatch1 = Statistics.Ratio(Rate(8), Rate(1));
        report.Batch32OverBatch1 = Statistics.Ratio(Rate(32), Rate(1));
        if (report.Levels.Count == 0)
            return report with { Status = "failed", Reason = string.Join("; ", report.Errors) };
        return report;
    }

    internal static string[] NextTexts(int count, ref int index)
    {
        var texts = new string[count];
        for (var i = 0; i < count; i++)
            texts[i] = WorkloadGenerator.Text(WorkloadGenerator.SeedFor("embeddings", index++), WordsPerText);
        return texts;
    }

    private static async Task<(int Dimensions, int PromptTokens)> PostAsync(HttpClient http, string model, string[] texts, CancellationToken ct)
    {
        var body = new JsonObject { ["model"] = model, ["input"] = new JsonArray([.. texts.Select(t => JsonValue.Create(t))]) };
        using var response = await http.PostAsJsonAsync("v1/embeddings", body, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var message = TryParse(text)?["error"]?["message"]?.GetValue<string>() ?? text;
            throw new HttpRequestException($"POST v1/embeddings answered {(int)response.StatusCode}: {message}");
        }
        var json = TryParse(text) ?? throw new HttpRequestException("POST v1/embeddings answered with something that is not JSON.");
        var data = json["data"]?.AsArray() ?? throw new HttpRequestException("The embeddings response has no data.");
        if (data.Count != texts.Length)
            throw new HttpRequestException($"The embeddings response has {data.Count} vectors for {texts.Length} inputs.");
        var dimensions = data[0]?["embedding"]?.AsArray().Count ?? 0;
        var promptTokens = json["usage"]?["prompt_tokens"]?.GetValue<int>() ?? 0;
        return (dimensions, promptTokens);
    }

    private static JsonNode? TryParse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
