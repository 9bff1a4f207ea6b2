using System.Collections.Concurrent;
using LLama.Native;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Inference.Engine;
using static Sovereign.Inference.Tests.Streams;

namespace Sovereign.Inference.Tests.Engine;

[Collection(RealModelCollection.Name)]
public class LlamaEngineTests
{
    private const string OnceUponATime = "Once upon a time";

    private static readonly string[] Prompts =
    [
        "Once upon a time", "The cat", "Lily and Ben went", "One day, a little boy",
        "Tom had a red ball", "In the park", "Sue was sad because", "The sun was",
    ];

    [Fact]
    public void Loading_reports_the_model_and_the_native_backend()
    {
        using var engine = TestModel.Load(s => s.ContextSize = 100_000);

        Assert.Equal(2048, engine.TrainContext);
        Assert.Equal(2048, engine.ContextSize); // capped at the training context
        Assert.Equal(4, engine.Slots);
        Assert.False(engine.HasChatTemplate);
        Assert.Contains("llama.cpp", engine.NativeBackend);
        Assert.Equal(new EngineStats(0, 0, 0, 0, 0), engine.Stats);
    }

    [Fact]
    public async Task Greedy_output_equals_a_plain_single_sequence_reference_loop()
    {
        var reference = ReferenceLoop.Greedy(OnceUponATime, 120);
        using var engine = TestModel.Load();

        var (text, finished) = await RunAsync(engine, TestModel.Greedy(OnceUponATime, 120));

        Assert.Equal(reference.Text, text);
        Assert.Equal(reference.Tokens, finished.Usage.CompletionTokens);
        Assert.Contains("Lily", text);
        Assert.Equal(engine.Tokenize(OnceUponATime, addBos: true).Length, finished.Usage.PromptTokens);
        Assert.True(finished.Usage.DecodeTime > TimeSpan.Zero);
        Assert.True(finished.Usage.PromptTime >= TimeSpan.Zero);
    }

    [Fact]
    public async Task An_output_that_holds_text_back_is_flushed_before_a_step_that_admits_another_request()
    {
        using var engine = TestModel.Load();
        var held = new HoldingOutput();
        using var stop = new CancellationTokenSource();
        engine.Submit(TestModel.Greedy(OnceUponATime, 400) with { IgnoreEos = true }, held, stop.Token);
        await held.FirstText.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // Paused, so that the first stream is still generating when the newcomer arrives.
        engine.PauseLoop();
        var flushesWhileAlone = held.Flushes;
        var second = engine.Submit(TestModel.Greedy("The cat", 5), CancellationToken.None);
        engine.ResumeLoop();

        // The newcomer's admission and prefill make a slow step; what the first stream holds must not wait for it.
        var finished = Finished(await CollectAsync(second));
        await stop.CancelAsync();

        Assert.Equal(5, finished.Usage.CompletionTokens);
        Assert.True(held.Flushes > flushesWhileAlone, $"{held.Flushes} flushes");
        Assert.Equal(0, flushesWhileAlone);
    }

    /// <summary>An output like the runner's socket writer: it counts the loop's flushes and keeps the events.</summary>
    private sealed class HoldingOutput : System.Threading.Channels.ChannelWriter<GenerationEvent>, IHeldOutput
    {
        private int _flushes;
        public TaskCompletionSource FirstText { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Flushes => Volatile.Read(ref _flushes);
        public void FlushHeld() => Interlocked.Increment(ref _flushes);

        public override bool TryWrite(GenerationEvent item)
        {
            if (item is GenerationEvent.TextDelta) FirstText.TrySetResult();
            return true;
        }

        public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(true);
    }

    [Fact]
    public async Task Greedy_decoding_gives_the_same_output_twice()
    {
        using var engine = TestModel.Load();

        var first = await RunAsync(engine, TestModel.Greedy(OnceUponATime, 80));
        var second = await RunAsync(engine, TestModel.Greedy(OnceUponATime, 80));

        Assert.Equal(first.Text, second.Text);
        Assert.NotEmpty(first.Text);
    }

    [Fact]
    public async Task Seeded_sampling_gives_the_same_output_for_the_same_seed()
    {
        using var engine = TestModel.Load();
        GenerationRequest Sampled(uint seed) => TestModel.Greedy(OnceUponATime, 80) with
        {
            Sampling = new SamplingParameters { Temperature = 1.0f, TopK = 40, TopP = 0.95f, MinP = 0.05f, RepeatPenalty = 1.1f, PresencePenalty = 0.2f, FrequencyPenalty = 0.1f, Seed = seed },
        };

        var a = await RunAsync(engine, Sampled(1234));
        var b = await RunAsync(engine, Sampled(1234));
        var others = new List<string>();
        for (uint seed = 1; seed <= 3; seed++)
            others.Add((await RunAsync(engine, Sampled(seed))).Text);

        Assert.Equal(a.Text, b.Text);
        Assert.NotEmpty(a.Text);
        // 0xFFFFFFFF means "random" to llama.cpp; as a request seed it must still be deterministic.
        Assert.Equal((await RunAsync(engine, Sampled(uint.MaxValue))).Text, (await RunAsync(engine, Sampled(uint.MaxValue))).Text);
        // Different seeds really do sample: not all of them follow the same path.
        Assert.True(others.Append(a.Text).Distinct().Count() > 1);
    }

    [Fact]
    public async Task Eight_concurrent_requests_each_get_the_text_they_get_alone_in_one_batch()
    {
        using var engine = TestModel.Load(s => s.Slots = 8);
        var alone = new List<string>();
        foreach (var p in Prompts)
            alone.Add((await RunAsync(engine, TestModel.Greedy(p, 100))).Text);

        var maxDecodesInOneStep = 0;
        engine.StepObserver = t => maxDecodesInOneStep = Math.Max(maxDecodesInOneStep, t.Work.Count(w => w.IsDecode));
        engine.PauseLoop();
        var streams = Prompts.Select((p, i) => engine.Submit(TestModel.Greedy(p, 100, $"r{i}"), CancellationToken.None)).ToList();
        engine.ResumeLoop();
        var together = await Task.WhenAll(streams.Select(CollectAsync));

        for (var i = 0; i < Prompts.Length; i++)
        {
            Finished(together[i]);
            Assert.Equal(alone[i], TextOf(together[i]));
        }
        Assert.Equal(8, maxDecodesInOneStep);
    }

    // Why the two tests above stop at 100-150 tokens: llama.cpp's CPU matmul uses a different kernel for a batch of
    // one token (ggml vec_dot) than for two or more (llamafile tinyBLAS, see "only enable sgemm for prompt processing" in
    // ggml-cpu/llamafile/sgemm.cpp). The rounding differs in the last bits, so a stream that decodes alone and the same
    // stream decoding next to others agree for hundreds of tokens and then can part at a near-tie (for "Once upon a time"
    // at token 416). Every composition of two or more sequences gives bit-identical results, which this test pins down.
    [Fact]
    public async Task Long_greedy_streams_do_not_depend_on_which_other_sequences_share_the_batch()
    {
        const int length = 600;
        using var engine = TestModel.Load(s => { s.Slots = 8; s.ContextSize = 1024; });
        async Task<string> RunWith(int companions)
        {
            engine.PauseLoop();
            var streams = Enumerable.Range(0, companions + 1)
                .Select(i => engine.Submit(TestModel.Greedy(Prompts[i], length, $"s{i}") with { IgnoreEos = true }, CancellationToken.None))
                .ToList();
            engine.ResumeLoop();
            var results = await Task.WhenAll(streams.Select(CollectAsync));
            Assert.All(results, r => Assert.Equal(length, Finished(r).Usage.CompletionTokens));
            return TextOf(results[0]);
        }

        var withOne = await RunWith(1);
        var withSeven = await RunWith(7);

        Assert.Equal(withOne, withSeven);
    }

    [Fact]
    public async Task Concurrent_greedy_streams_match_the_reference_loop()
    {
        using var engine = TestModel.Load(s => s.Slots = 8);
        var references = Prompts.Select(p => ReferenceLoop.Greedy(p, 150)).ToList();

        var streams = Prompts.Select((p, i) => engine.Submit(TestModel.Greedy(p, 150, $"r{i}"), CancellationToken.None)).ToList();
        var results = await Task.WhenAll(streams.Select(CollectAsync));

        for (var i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(references[i].Text, TextOf(results[i]));
            Assert.Equal(references[i].Tokens, Finished(results[i]).Usage.CompletionTokens);
        }
    }

    [Fact]
    public async Task Max_tokens_ends_the_stream_with_length()
    {
        using var engine = TestModel.Load();

        var (text, finished) = await RunAsync(engine, TestModel.Greedy(OnceUponATime, 7) with { IgnoreEos = true });

        Assert.Equal(FinishReason.Length, finished.Reason);
        Assert.Equal(7, finished.Usage.CompletionTokens);
        Assert.NotEmpty(text);
    }

    [Fact]
    public async Task Without_max_tokens_generation_ends_with_length_when_the_slot_context_is_full()
    {
        using var engine = TestModel.Load(s => s.ContextSize = 48);
        var promptTokens = engine.Tokenize(OnceUponATime, addBos: true).Length;

        var (_, finished) = await RunAsync(engine, TestModel.Greedy(OnceUponATime, null) with { IgnoreEos = true });

        Assert.Equal(FinishReason.Length, finished.Reason);
        Assert.Equal(48 - promptTokens, finished.Usage.CompletionTokens);
    }

    [Fact]
    public async Task A_stop_string_split_across_tokens_is_not_emitted_and_ends_the_stream()
    {
        using var engine = TestModel.Load();
        var full = (await RunAsync(engine, TestModel.Greedy(OnceUponATime, 120))).Text;
        const string stop = "girl named";
        var at = full.IndexOf(stop, StringComparison.Ordinal);
        Assert.True(at > 0, $"the story should mention a girl named …: {full}");

        var (text, finished) = await RunAsync(engine, TestModel.Greedy(OnceUponATime, 120) with { Stop = ["no such thing", stop] });

        Assert.Equal(full[..at], text);
        Assert.Equal(FinishReason.Stop, finished.Reason);
    }

    [Fact]
    public async Task Cancelling_frees_the_slots_within_one_step_so_a_new_request_still_runs()
    {
        using var engine = TestModel.Load(s => s.Slots = 2);
        using var cancel = new CancellationTokenSource();
        var steps = new ConcurrentQueue<StepTrace>();
        // Cancel from inside step 3 (both streams are generating by then), so the test does not race the streams.
        engine.StepObserver = t =>
        {
            steps.Enqueue(t);
            if (t.Step == 3)
                cancel.Cancel();
        };
        engine.PauseLoop();
        var running = Enumerable.Range(0, 2)
            .Select(i => engine.Submit(TestModel.Greedy(Prompts[i], null, $"c{i}") with { IgnoreEos = true }, cancel.Token))
            .ToList();
        engine.ResumeLoop();

        var cancelled = await Task.WhenAll(running.Select(CollectAsync));
        var (_, finished) = await RunAsync(engine, TestModel.Greedy(OnceUponATime, 5, "after") with { IgnoreEos = true });

        Assert.All(cancelled, events =>
        {
            Assert.IsType<GenerationEvent.Started>(events[0]);
            Assert.All(events.Skip(1), e => Assert.IsType<GenerationEvent.TextDelta>(e));
        });
        Assert.Equal(FinishReason.Length, finished.Reason);
        // Step 3 still samples for them; from step 4 on they are gone.
        Assert.All(steps.Where(t => t.Step >= 4), t => Assert.DoesNotContain(t.Work, w => w.RequestId.StartsWith('c')));
        Assert.Equal(new[] { "after" }, steps.Where(t => t.Step >= 4).SelectMany(t => t.Work).Select(w => w.RequestId).Distinct());
    }

    [Fact]
    public async Task Cancelling_a_queued_request_completes_its_stream_without_events()
    {
        using var engine = TestModel.Load();
        using var cancel = new CancellationTokenSource();
        engine.PauseLoop();
        var stream = engine.Submit(TestModel.Greedy(OnceUponATime), cancel.Token);
        cancel.Cancel();
        engine.ResumeLoop();

        Assert.Empty(await CollectAsync(stream));
        var (_, finished) = await RunAsync(engine, TestModel.Greedy(OnceUponATime, 3));
        Assert.Equal(3, finished.Usage.CompletionTokens);
    }

    [Fact]
    public async Task A_full_queue_is_rate_limited_with_retry_after()
    {
        using var engine = TestModel.Load(s => { s.Slots = 1; s.QueueLimit = 1; });
        engine.PauseLoop();
        var accepted = new[] { engine.Submit(TestModel.Greedy(OnceUponATime, 3, "a"), CancellationToken.None), engine.Submit(TestModel.Greedy(OnceUponATime, 3, "b"), CancellationToken.None) };

        var e = Assert.Throws<SovereignException>(() => engine.Submit(TestModel.Greedy(OnceUponATime, 3, "c"), CancellationToken.None));
        var stats = engine.Stats;
        engine.ResumeLoop();

        Assert.Equal(ErrorKind.RateLimited, e.Kind);
        Assert.Equal(429, e.HttpStatus);
        Assert.NotNull(e.RetryAfter);
        Assert.Equal((0, 2), (stats.Active, stats.Queued));
        foreach (var stream in accepted)
            Finished(await CollectAsync(stream));
    }

    [Fact]
    public void A_prompt_longer_than_the_context_is_rejected_with_context_length_exceeded()
    {
        using var engine = TestModel.Load(s => s.ContextSize = 32);
        var prompt = string.Join(" ", Enumerable.Repeat("Once upon a time there was a cat.", 10));
        var tokens = engine.Tokenize(prompt, addBos: true).Length;

        var e = Assert.Throws<SovereignException>(() => engine.Submit(TestModel.Greedy(prompt, null), CancellationToken.None));

        Assert.Equal(400, e.HttpStatus);
        Assert.Equal("context_length_exceeded", e.Code);
        Assert.Contains("32", e.Message);
        Assert.Contains(tokens.ToString(), e.Message);
    }

    [Fact]
    public void A_prompt_plus_max_tokens_beyond_the_context_is_rejected()
    {
        using var engine = TestModel.Load(s => s.ContextSize = 32);

        var e = Assert.Throws<SovereignException>(() => engine.Submit(TestModel.Greedy(OnceUponATime, 30), CancellationToken.None));

        Assert.Equal("context_length_exceeded", e.Code);
        Assert.Equal("max_tokens", e.Param);
    }

    [Fact]
    public async Task A_max_tokens_the_request_lets_be_lowered_ends_with_length_when_the_context_is_full()
    {
        using var engine = TestModel.Load(s => s.ContextSize = 32);
        var promptTokens = engine.Tokenize(OnceUponATime, addBos: true).Length;

        var (_, finished) = await RunAsync(engine, TestModel.Greedy(OnceUponATime, 30) with { ClampMaxTokens = true, IgnoreEos = true });

        Assert.Equal(FinishReason.Length, finished.Reason);
        Assert.Equal(32 - promptTokens, finished.Usage.CompletionTokens);
    }

    [Fact]
    public async Task A_request_context_smaller_than_the_models_bounds_prompt_and_completion_together()
    {
        using var engine = TestModel.Load(s => s.ContextSize = 64);
        var promptTokens = engine.Tokenize(OnceUponATime, addBos: true).Length;

        var (_, finished) = await RunAsync(engine, TestModel.Greedy(OnceUponATime, null) with { ContextLimit = promptTokens + 4, IgnoreEos = true });
        var refused = Assert.Throws<SovereignException>(() => engine.Submit(TestModel.Greedy(OnceUponATime, 3) with { ContextLimit = promptTokens }, CancellationToken.None));

        Assert.Equal((FinishReason.Length, 4), (finished.Reason, finished.Usage.CompletionTokens));
        Assert.Equal(("context_length_exceeded", GenerationRequest.ContextLimitParam), (refused.Code, refused.Param));
        Assert.Contains(promptTokens.ToString(System.Globalization.CultureInfo.InvariantCulture), refused.Message);
    }

    [Theory]
    [InlineData(3f, "temperature")]
    [InlineData(-1f, "temperature")]
    public void Invalid_sampling_is_rejected_before_queueing(float temperature, string param)
    {
        using var engine = TestModel.Load();

        var e = Assert.Throws<SovereignException>(() => engine.Submit(TestModel.Greedy(OnceUponATime) with { Sampling = new SamplingParameters { Temperature = temperature } }, CancellationToken.None));

        Assert.Equal(ErrorKind.InvalidRequest, e.Kind);
        Assert.Equal(param, e.Param);
        Assert.Equal(new EngineStats(0, 0, 0, 0, 0), engine.Stats);
    }

    [Fact]
    public void Requests_need_exactly_one_of_prompt_and_messages_and_a_positive_max_tokens()
    {
        using var engine = TestModel.Load(s => s.ChatTemplateOverride = "chatml");

        Assert.Equal(400, Assert.Throws<SovereignException>(() => engine.Submit(TestModel.Greedy(OnceUponATime) with { Messages = [new("user", "hi")] }, CancellationToken.None)).HttpStatus);
        Assert.Equal(400, Assert.Throws<SovereignException>(() => engine.Submit(TestModel.Greedy(OnceUponATime) with { Prompt = null }, CancellationToken.None)).HttpStatus);
        Assert.Equal("max_tokens", Assert.Throws<SovereignException>(() => engine.Submit(TestModel.Greedy(OnceUponATime, 0), CancellationToken.None)).Param);
        Assert.Equal("stop", Assert.Throws<SovereignException>(() => engine.Submit(TestModel.Greedy(OnceUponATime) with { Stop = [""] }, CancellationToken.None)).Param);
    }

    [Fact]
    public async Task Chat_messages_render_with_a_built_in_template_override_and_generate()
    {
        using var engine = TestModel.Load(s => s.ChatTemplateOverride = "chatml");
        ChatMessage[] messages = [new("system", "You tell stories."), new("user", "Tell me a story.")];

        var rendered = engine.RenderChat(messages);
        var (_, finished) = await RunAsync(engine, new GenerationRequest { Id = "chat", Model = "stories260K", Messages = messages, MaxTokens = 10, Sampling = SamplingParameters.Greedy });

        Assert.True(engine.HasChatTemplate);
        Assert.Equal("<|im_start|>system\nYou tell stories.<|im_end|>\n<|im_start|>user\nTell me a story.<|im_end|>\n<|im_start|>assistant\n", rendered);
        Assert.Equal(engine.Tokenize(rendered, addBos: true).Length, finished.Usage.PromptTokens);
        Assert.True(finished.Usage.CompletionTokens > 0);
    }

    [Fact]
    public void Chat_messages_without_a_chat_template_are_rejected_with_a_clear_message()
    {
        using var engine = TestModel.Load();

        var e = Assert.Throws<SovereignException>(() => engine.Submit(new GenerationRequest { Id = "chat", Model = "stories260K", Messages = [new("user", "hi")] }, CancellationToken.None));

        Assert.Equal(400, e.HttpStatus);
        Assert.Contains("no chat template", e.Message);
        Assert.Contains("--chat-template", e.Message);
    }

    [Fact]
    public void An_unknown_chat_template_name_is_refused_at_load()
    {
        var e = Assert.Throws<SovereignException>(() => TestModel.Load(s => s.ChatTemplateOverride = "no-such-template"));

        Assert.Contains("no-such-template", e.Message);
    }

    /// <summary>
    /// A short prompt ("short", then <paramref name="shortTokens"/> generated, end-of-sequence ignored) and a long one
    /// ("long") submitted for the same step and both run to their end: every step the engine took, and the long one's events.
    /// </summary>
    private static async Task<(List<StepTrace> Steps, List<GenerationEvent> Long)> ShortBesideLongAsync(LlamaEngine engine, string longPrompt,
        int shortTokens, int longTokens)
    {
        var steps = new ConcurrentQueue<StepTrace>();
        engine.StepObserver = steps.Enqueue;
        engine.PauseLoop();
        var shortStream = engine.Submit(TestModel.Greedy("The cat", shortTokens, "short") with { IgnoreEos = true }, CancellationToken.None);
        var longStream = engine.Submit(TestModel.Greedy(longPrompt, longTokens, "long"), CancellationToken.None);
        engine.ResumeLoop();
        var longEvents = await CollectAsync(longStream);
        Finished(await CollectAsync(shortStream));
        Finished(longEvents);
        return ([.. steps], longEvents);
    }

    [Fact]
    public async Task A_long_prompt_is_prefilled_in_chunks_while_a_running_stream_keeps_getting_tokens()
    {
        using var engine = TestModel.Load(s => { s.Slots = 2; s.PrefillChunk = 8; });
        var longPrompt = string.Join(" ", Enumerable.Repeat("Lily and Ben went to the park to play.", 6));
        var longTokens = engine.Tokenize(longPrompt, addBos: true).Length;
        Assert.True(longTokens > 5 * 8, $"the long prompt has only {longTokens} tokens");
        var (steps, longEvents) = await ShortBesideLongAsync(engine, longPrompt, shortTokens: 100, longTokens: 20);

        var prefillSteps = steps.Where(s => s.Work.Any(w => w.RequestId == "long" && !w.IsDecode)).ToList();
        Assert.Equal(longTokens, prefillSteps.Sum(s => s.Work.Single(w => w.RequestId == "long").PromptTokens));
        Assert.True(prefillSteps.Count >= 5);
        Assert.All(prefillSteps, s => Assert.True(s.Work.Sum(w => w.PromptTokens) <= 8));
        // After the first step (both prompts start there), every prefill step of the long prompt also decodes the short stream.
        Assert.All(prefillSteps.Skip(1), s => Assert.Contains(s.Work, w => w.RequestId == "short" && w.IsDecode));
        Assert.Equal(ReferenceLoop.Greedy(longPrompt, 20).Text, TextOf(longEvents));
    }

    [Fact]
    public async Task While_a_stream_generates_a_long_prompt_is_prefilled_in_steps_paced_to_the_stall_target()
    {
        // A target far below what any prefill costs: while the short stream generates, each step takes the least chunk.
        using var engine = TestModel.Load(s => { s.Slots = 2; s.PrefillChunk = 128; s.PrefillStallTarget = TimeSpan.FromTicks(1); });
        var longPrompt = string.Join(" ", Enumerable.Repeat("Lily and Ben went to the park to play.", 30));
        var longTokens = engine.Tokenize(longPrompt, addBos: true).Length;
        Assert.True(longTokens > 128 + 2 * PrefillPacer.MinimumChunk, $"the long prompt has only {longTokens} tokens");
        var (steps, longEvents) = await ShortBesideLongAsync(engine, longPrompt, shortTokens: 200, longTokens: 8);

        var prefillSteps = steps.Where(s => s.Work.Any(w => w.RequestId == "long" && !w.IsDecode)).ToList();
        Assert.Equal(longTokens, prefillSteps.Sum(s => s.Work.Single(w => w.RequestId == "long").PromptTokens));
        // The first step holds both prompts (nothing generates yet): the whole chunk. Every later one decodes the short
        // stream too, and prefills at most the least chunk.
        Assert.Equal(128, prefillSteps[0].Work.Sum(w => w.PromptTokens));
        Assert.All(prefillSteps.Skip(1), s =>
        {
            Assert.Contains(s.Work, w => w.RequestId == "short" && w.IsDecode);
            Assert.True(s.Work.Sum(w => w.PromptTokens) <= PrefillPacer.MinimumChunk, string.Join(", ", s.Work));
        });
        Assert.True(prefillSteps.Count >= 1 + (longTokens - 128) / PrefillPacer.MinimumChunk);
        Assert.Equal(ReferenceLoop.Greedy(longPrompt, 8).Text, TextOf(longEvents));
    }

    [Fact]
    public async Task Without_a_stall_target_a_long_prompt_takes_the_whole_chunk_every_step()
    {
        using var engine = TestModel.Load(s => { s.Slots = 2; s.PrefillChunk = 64; s.PrefillStallTarget = TimeSpan.Zero; });
        var longPrompt = string.Join(" ", Enumerable.Repeat("Lily and Ben went to the park to play.", 20));
        var longTokens = engine.Tokenize(longPrompt, addBos: true).Length;
        var (steps, _) = await ShortBesideLongAsync(engine, longPrompt, shortTokens: 200, longTokens: 8);

        var chunks = steps.Select(s => s.Work.Sum(w => w.PromptTokens)).Where(n => n > 0).ToList();
        Assert.Equal(longTokens + engine.Tokenize("The cat", addBos: true).Length, chunks.Sum());
        Assert.All(chunks.Take(chunks.Count - 1), n => Assert.Equal(64, n));
    }

    [Fact]
    public async Task Batches_list_sequences_in_ascending_slot_order_even_when_a_newcomer_takes_a_lower_slot()
    {
        using var engine = TestModel.Load(s => s.Slots = 2);
        var steps = new ConcurrentQueue<StepTrace>();
        engine.StepObserver = steps.Enqueue;

        engine.PauseLoop();
        var first = engine.Submit(TestModel.Greedy("The cat", 2, "first") with { IgnoreEos = true }, CancellationToken.None);
        var running = engine.Submit(TestModel.Greedy(OnceUponATime, 40, "running") with { IgnoreEos = true }, CancellationToken.None);
        var newcomer = engine.Submit(TestModel.Greedy("Lily and Ben went", 5, "newcomer") with { IgnoreEos = true }, CancellationToken.None);
        engine.ResumeLoop();
        foreach (var stream in new[] { first, running, newcomer })
            Finished(await CollectAsync(stream));

        // The newcomer gets slot 0 (freed by "first") and is planned after the running decode; the batch still starts with it.
        Assert.Contains(steps, s => s.Work.Any(w => w is { RequestId: "newcomer", Slot: 0, IsDecode: false }) && s.Work.Any(w => w is { RequestId: "running", Slot: 1, IsDecode: true }));
        Assert.All(steps, s => Assert.Equal(s.Work.Select(w => w.Slot).Order(), s.Work.Select(w => w.Slot)));
    }

    [Fact]
    public async Task A_sequence_moved_down_into_a_freed_slot_continues_exactly_as_if_it_had_stayed()
    {
        const int length = 80;
        using var engine = TestModel.Load(s => s.Slots = 3);
        async Task<(string Text, List<StepTrace> Steps)> Run(int middleLength)
        {
            var steps = new ConcurrentQueue<StepTrace>();
            engine.StepObserver = steps.Enqueue;
            engine.PauseLoop();
            var streams = new[]
            {
                engine.Submit(TestModel.Greedy(Prompts[0], length, "low") with { IgnoreEos = true }, CancellationToken.None),
                engine.Submit(TestModel.Greedy(Prompts[1], middleLength, "middle") with { IgnoreEos = true }, CancellationToken.None),
                engine.Submit(TestModel.Greedy(Prompts[2], length, "high") with { IgnoreEos = true }, CancellationToken.None),
            };
            engine.ResumeLoop();
            var results = await Task.WhenAll(streams.Select(CollectAsync));
            engine.StepObserver = null;
            Assert.All(results, r => Finished(r));
            return (TextOf(results[2]), steps.ToList());
        }

        // Same three streams twice: once the middle one runs as long as the others (no slot ever frees), once it ends
        // early and "high" moves from slot 2 to slot 1. Both runs always decode at least two sequences per step.
        var stayed = await Run(length);
        var moved = await Run(10);

        Assert.DoesNotContain(stayed.Steps, s => s.Work.Any(w => w.RequestId == "high" && w.Slot != 2));
        Assert.Contains(moved.Steps, s => s.Work.Any(w => w.RequestId == "high" && w.Slot == 1));
        Assert.All(moved.Steps, s => Assert.Equal(Enumerable.Range(0, s.Work.Count), s.Work.Select(w => w.Slot)));
        Assert.Equal(stayed.Text, moved.Text);
    }

    [Fact]
    public async Task A_decode_failure_fails_the_sequence_and_the_loop_keeps_serving()
    {
        using var engine = TestModel.Load();
        engine.DecodeResultFilter = (step, result) => step == 3 ? DecodeResult.DecodeFailed : result;

        var failed = await CollectAsync(engine.Submit(TestModel.Greedy(OnceUponATime, 20), CancellationToken.None));
        engine.DecodeResultFilter = null;
        var (text, finished) = await RunAsync(engine, TestModel.Greedy(OnceUponATime, 20));

        var failure = Assert.IsType<GenerationEvent.Failed>(failed[^1]);
        Assert.Equal("decode_failed", failure.Code);
        Assert.Contains("DecodeFailed", failure.Message);
        Assert.Equal(FinishReason.Length, finished.Reason);
        Assert.Equal(ReferenceLoop.Greedy(OnceUponATime, 20).Text, text);
    }

    [Fact]
    public async Task A_full_kv_cache_fails_only_the_newest_sequence_and_the_others_continue_unchanged()
    {
        using var engine = TestModel.Load(s => s.Slots = 2);
        var alone = (await RunAsync(engine, TestModel.Greedy(OnceUponATime, 40))).Text;
        var injected = 0;
        engine.DecodeResultFilter = (_, result) => Interlocked.Increment(ref injected) == 5 ? DecodeResult.NoKvSlot : result;

        engine.PauseLoop();
        var older = engine.Submit(TestModel.Greedy(OnceUponATime, 40, "older"), CancellationToken.None);
        var newer = engine.Submit(TestModel.Greedy("The cat", 40, "newer") with { IgnoreEos = true }, CancellationToken.None);
        engine.ResumeLoop();
        var olderEvents = await CollectAsync(older);
        var newerEvents = await CollectAsync(newer);

        Assert.Equal(alone, TextOf(olderEvents));
        Finished(olderEvents);
        Assert.Equal("kv_cache_full", Assert.IsType<GenerationEvent.Failed>(newerEvents[^1]).Code);
    }

    [Fact]
    public async Task Disposing_fails_running_requests_and_refuses_new_ones()
    {
        var engine = TestModel.Load(s => s.ContextSize = 2048);
        var stream = engine.Submit(TestModel.Greedy(OnceUponATime, null) with { IgnoreEos = true }, CancellationToken.None);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            while (await stream.ReadAsync(timeout.Token) is not GenerationEvent.TextDelta) { }
        }
        // Parked between steps, the stream (2000 tokens to go) cannot finish before the engine goes away.
        engine.PauseLoop();

        engine.Dispose();
        var rest = await CollectAsync(stream);

        Assert.Equal(ErrorKind.Unavailable, Assert.IsType<GenerationEvent.Failed>(rest[^1]).Kind);
        Assert.Equal(ErrorKind.Unavailable, Assert.Throws<SovereignException>(() => engine.Submit(TestModel.Greedy(OnceUponATime), CancellationToken.None)).Kind);
        engine.Dispose();
    }

    [Fact]
    public void Tokenize_and_detokenize_round_trip_multi_byte_text()
    {
        using var engine = TestModel.Load();
        const string text = "Lily said: héllo 你好 😀!";

        var tokens = engine.Tokenize(text, addBos: false);

        Assert.Equal(text, engine.Detokenize(tokens).TrimStart());
        Assert.Equal(tokens.Length + 1, engine.Tokenize(text, addBos: true).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.Detokenize([1, 512]));
    }

    [Fact]
    public async Task Stats_count_generated_and_prompt_tokens_and_steps()
    {
        using var engine = TestModel.Load();

        var (_, finished) = await RunAsync(engine, TestModel.Greedy(OnceUponATime, 9) with { IgnoreEos = true });
        var stats = engine.Stats;

        Assert.Equal(9, stats.TokensGenerated);
        Assert.Equal(finished.Usage.PromptTokens, stats.PromptTokensProcessed);
        Assert.Equal(9, stats.Steps); // one prompt step, then one step per decoded token (the last is never decoded)
    }
}
