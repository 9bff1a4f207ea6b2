using System.Diagnostics;
using System.Threading.Channels;
using LLama.Native;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Inference.Engine;

// The engine loop: everything in this file runs on the loop thread, except the few members marked otherwise.
public sealed partial class LlamaEngine
{
    private readonly Channel<EngineRequest> _incoming;
    private readonly AutoResetEvent _wake = new(false);
    private readonly Thread _thread;
    private readonly BatchScheduler _scheduler;
    private readonly PrefillPacer _pacer;
    private readonly FairQueue _fairQueue = new();
    private readonly List<EngineRequest> _admitting = [];
    private readonly LLamaBatch _batch = new();
    private readonly LLamaBatch _prefillBatch = new();

    // Slot i holds the request decoding as llama.cpp sequence i.
    private readonly EngineRequest?[] _slots;
    // Admitted requests, oldest first (the scheduler's priority order).
    private readonly List<EngineRequest> _admitted = [];
    // Accepted requests waiting for a slot, in arrival order (admitted in fair-queuing order).
    private readonly List<EngineRequest> _waiting = [];
    private readonly List<EngineRequest> _finished = [];
    private readonly List<PlannedWork> _batchWork = [];
    private readonly ActiveSequence[] _runningView;
    private readonly int[] _freeSlotView;
    private WaitingRequest[] _waitingView = new WaitingRequest[16];
    private byte[] _piece = new byte[64];

    private volatile bool _stopping;
    private int _cancellations;

    // Test hooks (internal): pause the loop between steps, watch each step, and replace a decode result.
    private readonly ManualResetEventSlim _running = new(true);
    private readonly ManualResetEventSlim _parked = new(false);
    internal Action<StepTrace>? StepObserver { get; set; }
    internal Func<long, DecodeResult, DecodeResult>? DecodeResultFilter { get; set; }

    /// <summary>Test hook, any thread: returns once the loop is parked between steps; it stays there until <see cref="ResumeLoop"/>.</summary>
    internal void PauseLoop()
    {
        _running.Reset();
        _wake.Set();
        if (!_parked.Wait(TimeSpan.FromSeconds(30)))
            throw new TimeoutException("The engine loop did not pause.");
    }

    /// <summary>Test hook, any thread.</summary>
    internal void ResumeLoop()
    {
        _parked.Reset();
        _running.Set();
    }

    private void RunLoop()
    {
        while (!_stopping)
        {
            if (!_running.IsSet)
            {
                _parked.Set();
                _running.Wait();
                continue;
            }
            bool worked;
            try
            {
                worked = Step();
            }
            catch (Exception e)
            {
                // A bug or an unexpected native error must not end the loop: fail what was running and carry on.
                Log.StepFailed(_logger, e);
                FailAll(_admitted, ErrorKind.Internal, $"The engine failed while generating: {e.Message}", "engine_error");
                worked = true;
            }
            if (!worked)
                _wake.WaitOne();
        }
        Shutdown();
    }

    /// <summary>
    /// One engine step. Returns false when there is nothing to do (the loop then blocks until woken).
    /// <list type="number">
    /// <item>Apply cancellations: free the slots of cancelled requests, drop cancelled waiting ones.</item>
    /// <item>Take newly submitted requests from the queue.</item>
    /// <item>Plan the step (<see cref="BatchScheduler"/>): a decode token per generating sequence, then prompt chunks.</item>
    /// <item>Move sequences down into gaps as planned, then admit the planned waiting requests into their slots.</item>
    /// <item>Fill the one batch as planned.</item>
    /// <item>Decode once; on failure roll back and fail (or retry) the affected sequences.</item>
    /// <item>Advance each sequence; sample those that asked for logits; detokenise, match stops, stream.</item>
    /// <item>Free finished slots and publish counters.</item>
    /// </list>
    /// </summary>
    private bool Step()
    {
        // :: Step 1: cancellations.
        if (Interlocked.Exchange(ref _cancellations, 0) != 0)
            ApplyCancellations();

        // :: Step 2: new requests.
        while (_incoming.Reader.TryRead(out var incoming))
        {
            if (incoming.IsCancelled)
            {
                Drop(incoming);
            }
            else
            {
                incoming.FinishTag = _fairQueue.Tag(incoming.TenantId, incoming.TenantWeight, incoming.Prompt.Length + incoming.MaxCompletion);
                _waiting.Add(incoming);
            }
        }
        if (_admitted.Count == 0 && _waiting.Count == 0)
            return false;

        // :: Step 3: plan.
        var running = 0;
        var generating = 0;
        foreach (var r in _admitted)
        {
            _runningView[running++] = new ActiveSequence(r.Slot, r.PromptLeft);
            if (r.PromptLeft == 0) generating++;
        }
        var free = 0;
        for (var s = 0; s < _slots.Length; s++)
        {
            if (_slots[s] is null)
                _freeSlotView[free++] = s;
        }
        if (_waitingView.Length < _waiting.Count)
            _waitingView = new WaitingRequest[Math.Max(_waiting.Count, _waitingView.Length * 2)];
        for (var i = 0; i < _waiting.Count; i++)
            _waitingView[i] = new WaitingRequest(_waiting[i].Prompt.Length, _waiting[i].FinishTag);
        var plan = _scheduler.PlanFair(_runningView.AsSpan(0, running), _waitingView.AsSpan(0, _waiting.Count), _freeSlotView.AsSpan(0, free),
            _pacer.Budget(generating));

        // Admitting (a prompt with images is prefilled then) and prefilling make a slow step: text an output holds
        // back until the next token goes out first.
        if (plan.Admissions.Count > 0 || plan.PromptTokens > 0)
        {
            foreach (var r in _admitted)
                (r.Output as IHeldOutput)?.FlushHeld();
        }

        // :: Step 4: move sequences down into gaps (the plan keeps occupied slots contiguous), then admit.
        foreach (var m in plan.Moves)
            MoveSequence(m.From, m.To);
        // Admissions follow finish tags, so they may come from anywhere in the waiting list: take them out first.
        _admitting.Clear();
        foreach (var a in plan.Admissions)
            _admitting.Add(_waiting[a.WaitingIndex]);
        foreach (var r in _admitting)
            _waiting.Remove(r);
        for (var i = 0; i < _admitting.Count; i++)
        {
            _fairQueue.Admitted(_admitting[i].FinishTag);
            Admit(_admitting[i], plan.Admissions[i].Slot);
        }
        if (plan.IsEmpty)
            return true;

        // :: Step 5: fill the batch, in ascending slot order. With one KV stream per sequence, llama.cpp splits a
        // batch into micro-batches of sequences with consecutive ids in batch order (llama_batch_allocr::split_equal,
        // sequential); any other order costs extra micro-batches, each a full pass over the weights. A prompt with
        // images was prefilled whole when admitted, so the plan's prompt work for it is dropped.
        _batchWork.Clear();
        foreach (var w in plan.Work)
        {
            if (_slots[w.Slot] is { } owner && (w.IsDecode ? !owner.Done : owner.PromptLeft > 0))
                _batchWork.Add(w);
        }
        _batchWork.Sort(static (a, b) => a.Slot.CompareTo(b.Slot));
        if (_batchWork.Count == 0)
        {
            foreach (var r in _finished)
                Release(r);
            _finished.Clear();
            PublishCounters();
            return true;
        }
        _batch.Clear();
        int decodeTokens = 0, promptTokens = 0;
        foreach (var w in _batchWork)
        {
            var r = _slots[w.Slot]!;
            var seq = (LLamaSeqId)w.Slot;
            if (w.IsDecode)
            {
                r.LogitIndex = _batch.Add(r.NextToken, r.Past, seq, true);
                decodeTokens++;
            }
            else
            {
                promptTokens += w.PromptTokens;
                var last = r.Prefilled + w.PromptTokens == r.Prompt.Length;
                var index = _batch.AddRange(r.Prompt.AsSpan(r.Prefilled, w.PromptTokens), r.Past, seq, last);
                r.LogitIndex = last ? index : -1;
            }
        }

        // :: Step 6: decode once.
        var step = Interlocked.Increment(ref _steps);
        var started = Now();
        var result = _context.Decode(_batch);
        if (result == DecodeResult.Ok)
            _pacer.Observe(promptTokens, decodeTokens, Stopwatch.GetElapsedTime(started));
        if (DecodeResultFilter is { } filter)
            result = filter(step, result);
        StepObserver?.Invoke(StepTrace.From(step, _batchWork, _slots, result));
        if (result != DecodeResult.Ok)
        {
            OnDecodeFailed(plan, result);
            PublishCounters();
            return true;
        }

        // :: Step 7: advance, sample, stream.
        foreach (var w in _batchWork)
        {
            var r = _slots[w.Slot]!;
            if (w.IsDecode)
            {
                r.Past++;
            }
            else
            {
                r.Past += w.PromptTokens;
                r.Prefilled += w.PromptTokens;
                Interlocked.Add(ref _promptTokensProcessed, w.PromptTokens);
            }
            if (r.LogitIndex >= 0)
            {
                var token = r.Sampler!.Sample(_context, r.LogitIndex);
                r.LogitIndex = -1;
                OnToken(r, token);
            }
        }

        // :: Step 8: free finished slots, publish counters.
        foreach (var r in _finished)
            Release(r);
        _finished.Clear();
        PublishCounters();
        return true;
    }

    /// <summary>
    /// Moves a sequence and its KV cells to a free lower slot. With one KV stream per sequence llama.cpp copies the whole
    /// stream (ContextSize cells) at the start of the next decode: a memory copy, far cheaper than the extra pass over the
    /// weights that every gap costs on every following step.
    /// </summary>
    private void MoveSequence(int from, int to)
    {
        var r = _slots[from]!;
        _context.MemorySequenceCopy((LLamaSeqId)from, (LLamaSeqId)to, -1, -1);
        _context.MemorySequenceRemove((LLamaSeqId)from, -1, -1);
        _slots[to] = r;
        _slots[from] = null;
        r.Slot = to;
    }

    private void Admit(EngineRequest r, int slot)
    {
        r.Slot = slot;
        r.AdmittedAt = Now();
        _slots[slot] = r;
        _admitted.Add(r);
        r.Sampler = CreateSampler(r);
        r.Output.TryWrite(new GenerationEvent.Started(r.Prompt.Length));
        if (r.Parts is not null)
            PrefillWithImages(r);
    }

    /// <summary>
    /// Prefills a prompt with images in one go, on its own batch: text pieces through llama_decode, images through
    /// llama.cpp's multimodal library (which encodes the image with the projector and decodes its embeddings into this
    /// sequence), then samples the first token. Other sequences wait for it this step: an image cannot be split across
    /// steps as text prompts are. A failure fails only this request.
    /// </summary>
    private void PrefillWithImages(EngineRequest r)
    {
        var seq = r.Slot;
        var past = 0;
        var logitIndex = -1;
        try
        {
            var parts = r.Parts!;
            for (var p = 0; p < parts.Count; p++)
            {
                var part = parts[p];
                var lastPart = p == parts.Count - 1;
                if (part.Tokens is { } tokens)
                {
                    for (var start = 0; start < tokens.Length; start += _batchTokens)
                    {
                        var n = Math.Min(_batchTokens, tokens.Length - start);
                        var last = lastPart && start + n == tokens.Length;
                        _prefillBatch.Clear();
                        var index = _prefillBatch.AddRange(tokens.AsSpan(start, n), past, (LLamaSeqId)seq, last);
                        var result = _context.Decode(_prefillBatch);
                        if (result != DecodeResult.Ok)
                            throw new SovereignException(ErrorKind.Internal, $"llama.cpp failed to decode the prompt ({result}).", code: "decode_failed");
                        past += n;
                        if (last) logitIndex = index;
                    }
                }
                else
                {
                    int result;
                    lock (_visionGate)
                        result = _vision!.NativeHandle.EvaluateChunk(part.Image!.GetChunkPtr(part.Chunk), _context, ref past, seq, _batchTokens, lastPart);
                    if (result != 0)
                        throw new SovereignException(ErrorKind.Internal, $"llama.cpp could not run the image through the vision projector (error {result}).", code: "image_failed");
                }
            }
        }
        catch (SovereignException e)
        {
            Fail(r, e.Kind, e.Message, e.Code ?? "decode_failed");
            _finished.Add(r);
            return;
        }
        r.Past = past;
        r.Prefilled = r.Prompt.Length;
        Interlocked.Add(ref _promptTokensProcessed, r.Prompt.Length);
        OnToken(r, r.Sampler!.Sample(_context, logitIndex));
    }

    /// <summary>
    /// llama.cpp's sampler chain for one request: penalties, the grammar, then greedy or
    /// top-k/top-p/min-p/temperature/dist. The grammar masks tokens after the penalties and before any choice, so the
    /// chosen token always fits it; it joins the chain after the prompt has primed the penalty window, since every
    /// sampler in a chain accepts what the chain accepts and the prompt is not grammar output.
    /// </summary>
    private SafeLLamaSamplerChainHandle CreateSampler(EngineRequest r)
    {
        var p = r.Sampling;
        var prompt = r.PenaltyPrompt ?? r.Prompt;
        var chain = SafeLLamaSamplerChainHandle.Create(LLamaSamplerChainParams.Default());
        if (p.RepeatPenalty != 1f || p.FrequencyPenalty != 0f || p.PresencePenalty != 0f)
        {
            chain.AddPenalties(PenaltyWindow, p.RepeatPenalty, p.FrequencyPenalty, p.PresencePenalty);
            // As llama.cpp's server does: the penalty window starts out with the end of the prompt.
            foreach (var t in prompt.AsSpan(Math.Max(0, prompt.Length - PenaltyWindow)))
                chain.Accept(t);
        }
        if (r.Grammar is not null)
            NativeGrammar.AddTo(chain, _model, r.Grammar, r.GrammarRoot);
        if (p.Temperature == 0f)
        {
            chain.AddGreedySampler();
            return chain;
        }
        if (p.TopK > 0)
            chain.AddTopK(p.TopK);
        if (p.TopP < 1f)
            chain.AddTopP(p.TopP, 1);
        if (p.MinP > 0f)
            chain.AddMinP(p.MinP, 1);
        chain.AddTemperature(p.Temperature);
        // llama.cpp reads seed 0xFFFFFFFF (LLAMA_DEFAULT_SEED) as "pick a random seed"; keep every given seed deterministic.
        var seed = p.Seed is { } given ? Math.Min(given, uint.MaxValue - 1) : (uint)Random.Shared.NextInt64(0, uint.MaxValue);
        chain.AddDistributionSampler(seed);
        return chain;
    }

    /// <summary>A token was sampled for <paramref name="r"/> (llama_sampler_sample has already accepted it into the chain).</summary>
    private void OnToken(EngineRequest r, LLamaToken token)
    {
        if (r.Completion == 0)
            r.FirstTokenAt = Now();
        r.Completion++;
        Interlocked.Increment(ref _tokensGenerated);

        if (!r.IgnoreEos && token.IsEndOfGeneration(_vocab))
        {
            Finish(r, FinishReason.Stop);
            return;
        }

        r.UndeliveredTokens++;
        var text = r.Stops.Push(r.Text.Append(TokenBytes(token)));
        Deliver(r, text);
        if (r.Stops.Matched)
        {
            Finish(r, FinishReason.Stop, flush: false);
            return;
        }
        if (r.Completion >= r.MaxCompletion)
        {
            Finish(r, FinishReason.Length);
            return;
        }
        r.NextToken = token;
    }

    private ReadOnlySpan<byte> TokenBytes(LLamaToken token)
    {
        var n = (int)_model.TokenToSpan(token, _piece);
        if (n > _piece.Length)
        {
            _piece = new byte[n * 2];
            n = (int)_model.TokenToSpan(token, _piece);
        }
        return _piece.AsSpan(0, n);
    }

    private static void Deliver(EngineRequest r, string text)
    {
        if (text.Length == 0)
            return;
        r.Output.TryWrite(new GenerationEvent.TextDelta(text, r.UndeliveredTokens));
        r.UndeliveredTokens = 0;
    }

    private void Finish(EngineRequest r, FinishReason reason, bool flush = true)
    {
        if (flush)
        {
            // Bytes of an unfinished character become U+FFFD; text held back for a stop string that never came goes out.
            var tail = r.Stops.Push(r.Text.Flush());
            if (r.Stops.Matched)
                reason = FinishReason.Stop;
            Deliver(r, tail + r.Stops.Flush());
        }
        var end = Now();
        var first = r.FirstTokenAt != 0 ? r.FirstTokenAt : end;
        var usage = new GenerationUsage(r.Prompt.Length, r.Completion, Stopwatch.GetElapsedTime(r.AdmittedAt, first), Stopwatch.GetElapsedTime(first, end));
        r.Output.TryWrite(new GenerationEvent.Finished(reason, usage));
        r.Output.TryComplete();
        r.Done = true;
        _finished.Add(r);
    }

    private void Fail(EngineRequest r, ErrorKind kind, string message, string code)
    {
        r.Output.TryWrite(new GenerationEvent.Failed(kind, message, code));
        r.Output.TryComplete();
        r.Done = true;
    }

    /// <summary>
    /// llama_decode refused the batch. Whatever it left in the KV cache for this step is removed, so every sequence is
    /// back where it was before the step. A full KV cache with several sequences in the batch fails only the newest of
    /// them (the others retry next step); any other failure fails every sequence in the batch.
    /// </summary>
    private void OnDecodeFailed(StepPlan plan, DecodeResult result)
    {
        Log.DecodeFailed(_logger, result, plan.Work.Count, plan.DecodeTokens + plan.PromptTokens);
        EngineRequest? newest = null;
        foreach (var w in plan.Work)
        {
            var r = _slots[w.Slot]!;
            r.LogitIndex = -1;
            _context.MemorySequenceRemove((LLamaSeqId)w.Slot, r.Past, -1);
            if (newest is null || _admitted.IndexOf(r) > _admitted.IndexOf(newest))
                newest = r;
        }

        if (result == DecodeResult.NoKvSlot && plan.Work.Count > 1)
        {
            Fail(newest!, ErrorKind.Unavailable, "The model's KV cache is full; the request could not be continued. Try again.", "kv_cache_full");
            Release(newest!);
            return;
        }

        var (kind, message, code) = result == DecodeResult.NoKvSlot
            ? (ErrorKind.Unavailable, "The model's KV cache is full; the request could not be continued. Try again.", "kv_cache_full")
            : (ErrorKind.Internal, $"llama.cpp failed to decode ({result}); the request was stopped.", "decode_failed");
        foreach (var w in plan.Work)
        {
            var r = _slots[w.Slot];
            if (r is not null)
            {
                Fail(r, kind, message, code);
                Release(r);
            }
        }
    }

    private void ApplyCancellations()
    {
        for (var i = _admitted.Count - 1; i >= 0; i--)
        {
            var r = _admitted[i];
            if (r.IsCancelled && !r.Done)
            {
                r.Output.TryComplete();
                r.Done = true;
                Release(r);
            }
        }
        for (var i = _waiting.Count - 1; i >= 0; i--)
        {
            if (_waiting[i].IsCancelled)
            {
                Drop(_waiting[i]);
                _waiting.RemoveAt(i);
            }
        }
        // Requests still in the channel are dropped when they are taken from it.
    }

    /// <summary>Frees the slot of an admitted request: KV cells, sampler, registration, its place in the queue.</summary>
    private void Release(EngineRequest r)
    {
        if (r.Slot >= 0)
        {
            _context.MemorySequenceRemove((LLamaSeqId)r.Slot, -1, -1);
            _slots[r.Slot] = null;
            r.Slot = -1;
        }
        _admitted.Remove(r);
        r.Sampler?.Dispose();
        r.Sampler = null;
        r.DisposeParts();
        r.Registration.Unregister();
        Interlocked.Decrement(ref _outstanding);
    }

    /// <summary>Forgets a request that never got a slot (cancelled while waiting): its stream just completes.</summary>
    private void Drop(EngineRequest r)
    {
        r.Output.TryComplete();
        r.Done = true;
        r.DisposeParts();
        r.Registration.Unregister();
        Interlocked.Decrement(ref _outstanding);
    }

    private void FailAll(List<EngineRequest> requests, ErrorKind kind, string message, string code)
    {
        foreach (var r in requests.ToArray())
        {
            if (!r.Done)
                Fail(r, kind, message, code);
            try
            {
                Release(r);
            }
            catch (Exception e)
            {
                Log.StepFailed(_logger, e);
            }
        }
        _finished.Clear();
    }

    private void Shutdown()
    {
        const string message = "The model was unloaded while the request was running.";
        FailAll(_admitted, ErrorKind.Unavailable, message, "engine_stopped");
        while (_incoming.Reader.TryRead(out var r))
            _waiting.Add(r);
        foreach (var r in _waiting)
        {
            Fail(r, ErrorKind.Unavailable, message, "engine_stopped");
            r.DisposeParts();
            r.Registration.Unregister();
            Interlocked.Decrement(ref _outstanding);
        }
        _waiting.Clear();
        PublishCounters();
    }

    private void PublishCounters() => Volatile.Write(ref _active, _admitted.Count);
}

/// <summary>What one engine step did, for tests and diagnostics.</summary>
/// <param name="Step">The step number (1-based).</param>
/// <param name="Work">Per slot, in batch order: the request and its prompt tokens this step (0 = one decode token).</param>
/// <param name="Result">llama_decode's result (after any test filter).</param>
internal sealed record StepTrace(long Step, IReadOnlyList<StepTraceItem> Work, DecodeResult Result)
{
    internal static StepTrace From(long step, List<PlannedWork> work, EngineRequest?[] slots, DecodeResult result)
    {
        var items = new StepTraceItem[work.Count];
        for (var i = 0; i < items.Length; i++)
        {
            var w = work[i];
            items[i] = new StepTraceItem(slots[w.Slot]?.Id ?? "", w.Slot, w.PromptTokens);
        }
        return new StepTrace(step, items, result);
    }
}

internal readonly record struct StepTraceItem(string RequestId, int Slot, int PromptTokens)
{
    public bool IsDecode => PromptTokens == 0;
}
