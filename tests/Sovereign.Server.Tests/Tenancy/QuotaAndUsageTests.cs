using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using Sovereign.Core.Generation;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Tenancy;

/// <summary>Quotas (429 naming the limit, durable token counters) and usage records, through the HTTP API with a scripted engine.</summary>
public class QuotaAndUsageTests
{
    // Every scripted generation uses 7 prompt + 2 completion tokens.
    private static ScriptedInference Engine() => new(ScriptedInference.Story(FinishReason.Stop, "Once", " upon"));

    private static async Task<HttpResponseMessage> ChatAsync(HttpClient client, bool stream = false) =>
        await client.PostAsJsonAsync("v1/chat/completions", new { model = "stories", stream, messages = new[] { new { role = "user", content = "hi" } } });

    private static async Task<TestHost> StartAsync(string? home = null, IInferenceService? engine = null)
    {
        var host = await TestHost.StartAsync(home, inference: engine ?? Engine());
        await host.ImportModelAsync("stories");
        return host;
    }

    private static async Task AssertLimitedAsync(HttpResponseMessage response, string code, double maxRetrySeconds)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var error = Http.AssertOpenAiError(await Http.BodyAsync(response), "rate_limit_error", code);
        Assert.Contains("limit", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.InRange(response.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, maxRetrySeconds);
    }

    [Fact]
    public async Task A_keys_requests_per_minute_limit_answers_429_with_retry_after_and_leaves_other_keys_alone()
    {
        await using var host = await StartAsync();
        var key = await TenantSetup.CreateKeyAsync(host, TestHost.ConfiguredAdminKey, "limited", "inference");
        var keyId = await TenantSetup.KeyIdAsync(host, TestHost.ConfiguredAdminKey, "limited");
        using (var set = await host.AdminClient().PutAsJsonAsync($"admin/keys/{keyId}/limits", new { requests_per_minute = 2 }))
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);

        var client = TenantSetup.Client(host, key);
        for (var i = 0; i < 2; i++)
            using (var ok = await client.GetAsync("v1/models")) Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var third = await client.GetAsync("v1/models");
        await AssertLimitedAsync(third, "requests_per_minute_exceeded", 60);

        using var other = await host.AdminClient().GetAsync("v1/models");
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task A_tenants_daily_tokens_run_out_and_stay_used_up_after_a_restart()
    {
        var home = TestHost.NewHome();
        try
        {
            string key;
            await using (var host = await StartAsync(home))
            {
                key = await TenantSetup.CreateTenantWithAdminKeyAsync(host, "clinic");
                using (var set = await host.AdminClient().PutAsJsonAsync("admin/tenants/clinic/limits", new { tokens_per_day = 10 }))
                    Assert.Equal(HttpStatusCode.OK, set.StatusCode);
                var client = TenantSetup.Client(host, key);
                using (var first = await ChatAsync(client)) Assert.Equal(HttpStatusCode.OK, first.StatusCode);      // 9 used
                using (var second = await ChatAsync(client, stream: true)) Assert.Equal(HttpStatusCode.OK, second.StatusCode); // 18 used
                using var third = await ChatAsync(client);
                await AssertLimitedAsync(third, "tokens_per_day_exceeded", 86_400);
                Assert.Contains("tenant 'clinic'", (await Http.BodyAsync(third))["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

                // The default tenant has its own budget.
                using var other = await ChatAsync(host.AdminClient());
                Assert.Equal(HttpStatusCode.OK, other.StatusCode);
            }

            await using var restarted = await StartAsync(home);
            using var afterRestart = await ChatAsync(TenantSetup.Client(restarted, key));
            await AssertLimitedAsync(afterRestart, "tokens_per_day_exceeded", 86_400);
        }
        finally
        {
            TestHost.TryDelete(home);
        }
    }

    [Fact]
    public async Task A_keys_monthly_tokens_run_out()
    {
        await using var host = await StartAsync();
        var key = await TenantSetup.CreateKeyAsync(host, TestHost.ConfiguredAdminKey, "monthly", "inference");
        var keyId = await TenantSetup.KeyIdAsync(host, TestHost.ConfiguredAdminKey, "monthly");
        (await host.AdminClient().PutAsJsonAsync($"admin/keys/{keyId}/limits", new { tokens_per_month = 5 })).Dispose();
        var client = TenantSetup.Client(host, key);

        using (var first = await ChatAsync(client)) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var second = await ChatAsync(client);
        await AssertLimitedAsync(second, "tokens_per_month_exceeded", 31 * 86_400);
    }

    [Fact]
    public async Task Concurrent_generations_beyond_the_limit_are_refused_until_one_ends()
    {
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        async IAsyncEnumerable<GenerationEvent> Held(GenerationRequest r, [EnumeratorCancellation] CancellationToken ct)
        {
            yield return new GenerationEvent.Started(7);
            started.TrySetResult();
            await release.Task.WaitAsync(ct);
            yield return new GenerationEvent.TextDelta("Once", 1);
            yield return new GenerationEvent.Finished(FinishReason.Stop, new GenerationUsage(7, 1, TimeSpan.Zero, TimeSpan.Zero));
        }
        await using var host = await StartAsync(engine: new ScriptedInference(Held));
        var key = await TenantSetup.CreateKeyAsync(host, TestHost.ConfiguredAdminKey, "one at a time", "inference");
        var keyId = await TenantSetup.KeyIdAsync(host, TestHost.ConfiguredAdminKey, "one at a time");
        (await host.AdminClient().PutAsJsonAsync($"admin/keys/{keyId}/limits", new { concurrent_generations = 1 })).Dispose();
        var client = TenantSetup.Client(host, key);

        var first = ChatAsync(client);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using (var second = await ChatAsync(client))
            await AssertLimitedAsync(second, "concurrent_generations_exceeded", 5);
        release.SetResult();
        using (var done = await first) Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        using var third = await ChatAsync(client);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
    }

    [Fact]
    public async Task Limits_must_be_positive_and_only_the_operator_sets_a_tenants()
    {
        await using var host = await StartAsync();
        var clinic = await TenantSetup.CreateTenantWithAdminKeyAsync(host, "clinic");
        using (var bad = await host.AdminClient().PutAsJsonAsync("admin/tenants/clinic/limits", new { tokens_per_day = 0, requests_per_minute = -1 }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            var message = Http.AssertOpenAiError(await Http.BodyAsync(bad), "invalid_request_error", "invalid_value")["message"]!.GetValue<string>();
            Assert.Contains("tokens_per_day", message, StringComparison.Ordinal);
            Assert.Contains("requests_per_minute", message, StringComparison.Ordinal);
        }
        using var own = await TenantSetup.Client(host, clinic).PutAsJsonAsync("admin/tenants/clinic/limits", new { tokens_per_day = 1_000_000 });
        Assert.Equal(HttpStatusCode.Forbidden, own.StatusCode);
    }

    [Fact]
    public async Task Every_generation_is_recorded_with_its_caller_tokens_and_outcome_before_the_response_ends()
    {
        await using var host = await StartAsync();
        var key = await TenantSetup.CreateKeyAsync(host, TestHost.ConfiguredAdminKey, "app key", "inference", appId: "app_triage");
        var keyId = await TenantSetup.KeyIdAsync(host, TestHost.ConfiguredAdminKey, "app key");
        var client = TenantSetup.Client(host, key);

        using (var chat = await ChatAsync(client))
        {
            var id = (await Http.BodyAsync(chat))["id"]!.GetValue<string>();
            // Read the database the moment the response is complete: the record must already be there.
            var usage = host.Services.GetService(typeof(Sovereign.Server.Tenancy.IUsageStore)) as Sovereign.Server.Tenancy.IUsageStore;
            using (Sovereign.Core.Tenancy.TenantScope.Enter("default"))
            {
                var record = Assert.Single(await usage!.ListAsync(new Sovereign.Server.Tenancy.UsageQuery(KeyId: keyId)));
                Assert.Equal(id, record.RequestId);
            }
        }
        using (var ollama = await client.PostAsJsonAsync("api/generate", new { model = "stories", prompt = "hi", stream = false }))
            Assert.Equal(HttpStatusCode.OK, ollama.StatusCode);

        var (status, body) = await host.AdminClient().GetJsonAsync($"v1/usage?key_id={keyId}");
        Assert.Equal(HttpStatusCode.OK, status);
        var records = body["data"]!.AsArray();
        Assert.Equal(2, records.Count);
        Assert.Equal(["openai", "ollama"], records.Select(r => r!["api"]!.GetValue<string>()));
        foreach (var r in records)
        {
            // "stories" (OpenAI) and "stories:latest" (Ollama) are one model in the records.
            Assert.Equal("stories:latest", r!["model"]!.GetValue<string>());
            Assert.Equal("app_triage", r["app_id"]!.GetValue<string>());
            Assert.Equal(7, r["prompt_tokens"]!.GetValue<int>());
            Assert.Equal(2, r["completion_tokens"]!.GetValue<int>());
            Assert.Equal("stop", r["outcome"]!.GetValue<string>());
            Assert.True(r["ttft_ms"]!.GetValue<double>() >= 0);
            Assert.True(r["duration_ms"]!.GetValue<double>() >= r["ttft_ms"]!.GetValue<double>());
        }

        var (_, byModel) = await host.AdminClient().GetJsonAsync("v1/usage?group_by=model");
        var group = Assert.Single(byModel["data"]!.AsArray());
        Assert.Equal("stories:latest", group!["group"]!.GetValue<string>());
        Assert.Equal(2, group["requests"]!.GetValue<long>());
        Assert.Equal(18, group["total_tokens"]!.GetValue<long>());
        // Either API's spelling of the name finds both requests.
        var (_, filtered) = await host.AdminClient().GetJsonAsync("v1/usage?model=stories");
        Assert.Equal(2, filtered["data"]!.AsArray().Count);

        var csv = await host.AdminClient().GetStringAsync("v1/usage?group_by=day&format=csv");
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("day,requests,prompt_tokens,completion_tokens,total_tokens,avg_ttft_ms,avg_duration_ms", lines[0]);
        Assert.StartsWith(DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) + ",2,14,4,18,", lines[1], StringComparison.Ordinal);

        using var bad = await host.AdminClient().GetAsync("v1/usage?group_by=week&from=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var message = Http.AssertOpenAiError(await Http.BodyAsync(bad), "invalid_request_error")["message"]!.GetValue<string>();
        Assert.Contains("group_by", message, StringComparison.Ordinal);
        Assert.Contains("from", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refused_and_failed_generations_are_recorded_with_their_outcome()
    {
        await using var host = await StartAsync(engine: new ScriptedInference(
            new GenerationEvent.Started(3), new GenerationEvent.TextDelta("x", 1), new GenerationEvent.Failed(Sovereign.Core.Errors.ErrorKind.Internal, "boom", "engine_error")));
        var client = host.AdminClient();
        using (var stream = await ChatAsync(client, stream: true))
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        (await host.AdminClient().PutAsJsonAsync("admin/tenants/default/limits", new { tokens_per_day = 1 })).Dispose();
        using (var refused = await ChatAsync(client))
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);

        var (_, body) = await client.GetJsonAsync("v1/usage");
        Assert.Equal(["failed", "rate_limited"], body["data"]!.AsArray().Select(r => r!["outcome"]!.GetValue<string>()));
        Assert.Equal(1, body["data"]![0]!["completion_tokens"]!.GetValue<int>());
    }
}
