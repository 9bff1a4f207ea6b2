namespace Sovereign.Inference.Engine;

/// <summary>A sequence that holds a slot, as the scheduler sees it.</summary>
/// <param name="Slot">Its slot (= llama.cpp sequence id).</param>
/// <param name="PromptLeft">Prompt tokens not yet prefilled; 0 means it is generating and needs one decode token.</param>
internal readonly record struct ActiveSequence(int Slot, int PromptLeft);

/// <summary>What one slot contributes to a step's batch.</summary>
/// <param name="Slot">The slot.</param>
/// <param name="PromptTokens">Prompt tokens of this slot to prefill this step; 0 means one decode token.</param>
internal readonly record struct PlannedWork(int Slot, int PromptTokens)
{
    public bool IsDecode => PromptTokens == 0;
}

/// <summary>A waiting request that gets a slot this step.</summary>
/// <param name="WaitingIndex">Its index in the waiting list the plan was made from (always a prefix of it).</param>
/// <param name="Slot">The free slot it takes.</param>
internal readonly record struct Admission(int WaitingIndex, int Slot);

/// <summary>
/// One step's plan. Owned by the <see cref="BatchScheduler"/> that made it and overwritten by its next
/// <see cref="BatchScheduler.Plan"/> call.
/// </summary>
internal sealed class StepPlan
{
    internal readonly List<PlannedWork> WorkList = [];
    internal readonly List<Admission> AdmissionList = [];

    /// <summary>Work in batch order: decode tokens of running sequences first, then prompt chunks, oldest first.</summary>
    public IReadOnlyList<PlannedWork> Work => WorkList;

    /// <summary>Waiting requests admitted this step, in arrival order; their first chunk is in <see cref="Work"/>.</summary>
    public IReadOnlyList<Admission> Admissions => AdmissionList;

    /// <summary>Prompt tokens in this step (at most the scheduler's budget).</summary>
    public int PromptTokens { get; internal set; }

    /// <summary>Decode tokens in this step (one per generating sequence).</summary>
    public int DecodeTokens { get; internal set; }

    public bool IsEmpty => WorkList.Count == 0;

    internal void Clear()
    {
        WorkList.Clear();
        AdmissionList.Clear();
        PromptTokens = 0;
        DecodeTokens = 0;
    }
}

/// <summary>
/// Decides what one engine step does; knows nothing about llama.cpp. The policy, in order:
/// <list type="number">
/// <item>Every generating sequence gets exactly one decode token. These never wait and do not count against the budget.</item>
/// <item>Sequences that are still prefilling get prompt tokens oldest first, each as many as it still needs, until the
/// prefill budget (<c>PrefillChunk</c> tokens per step over all sequences) is spent.</item>
/// <item>Waiting requests are admitted in arrival order (no overtaking) into free slots (lowest first) while there is a
/// free slot and budget left; each takes its first chunk from what is left of the budget.</item>
/// </list>
/// There is no separate prefill phase: a long prompt is spread over steps and running streams keep getting a token each
/// step meanwhile. Not thread-safe; used only by the engine loop (and tests).
/// </summary>
internal sealed class BatchScheduler
{
    private readonly StepPlan _plan = new();

    public BatchScheduler(int prefillBudget)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(prefillBudget, 1);
        PrefillBudget = prefillBudget;
    }

    /// <summary>Most prompt tokens per step, over all sequences together.</summary>
    public int PrefillBudget { get; }

    /// <param name="running">Sequences that hold a slot, oldest admission first.</param>
    /// <param name="waitingPromptTokens">Prompt lengths of the waiting requests, in arrival order (each at least 1).</param>
    /// <param name="freeSlots">Free slots, in the order they should be handed out.</param>
    /// <returns>The plan, valid until the next call.</returns>
    public StepPlan Plan(ReadOnlySpan<ActiveSequence> running, ReadOnlySpan<int> waitingPromptTokens, ReadOnlySpan<int> freeSlots)
    {
        var plan = _plan;
        plan.Clear();

        // :: Step 1: one decode token for every generating sequence.
        foreach (var s in running)
        {
            if (s.PromptLeft == 0)
                plan.WorkList.Add(new PlannedWork(s.Slot, 0));
        }
        plan.DecodeTokens = plan.WorkList.Count;

        // :: Step 2: prompt chunks for sequences already prefilling, oldest first.
        var budget = PrefillBudget;
        foreach (var s in running)
        {
            if (budget == 0)
                break;
            if (s.PromptLeft > 0)
            {
                var take = Math.Min(s.PromptLeft, budget);
                plan.WorkList.Add(new PlannedWork(s.Slot, take));
                budget -= take;
            }
        }

        // :: Step 3: admit waiting requests into free slots while budget is left.
        var admit = Math.Min(waitingPromptTokens.Length, freeSlots.Length);
        for (var i = 0; i < admit && budget > 0; i++)
        {
            var take = Math.Min(Math.Max(waitingPromptTokens[i], 1), budget);
            plan.AdmissionList.Add(new Admission(i, freeSlots[i]));
            plan.WorkList.Add(new PlannedWork(freeSlots[i], take));
            budget -= take;
        }

        plan.PromptTokens = PrefillBudget - budget;
        return plan;
    }
}
