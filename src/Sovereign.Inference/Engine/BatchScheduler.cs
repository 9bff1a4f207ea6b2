namespace Sovereign.Inference.Engine;

/// <summary>A sequence that holds a slot, as the scheduler sees it.</summary>
/// <param name="Slot">Its slot (= llama.cpp sequence id).</param>
/// <param name="PromptLeft">Prompt tokens not yet prefilled; 0 means it is generating and needs one decode token.</param>
internal readonly record struct ActiveSequence(int Slot, int PromptLeft);

/// <summary>What one slot contributes to a step's batch.</summary>
/// <param name="Slot">The slot (after this step's moves).</param>
/// <param name="PromptTokens">Prompt tokens of this slot to prefill this step; 0 means one decode token.</param>
internal readonly record struct PlannedWork(int Slot, int PromptTokens)
{
    public bool IsDecode => PromptTokens == 0;
}

/// <summary>A request waiting for a slot, as the scheduler sees it.</summary>
/// <param name="PromptTokens">Its prompt length (at least 1).</param>
/// <param name="FinishTag">Its virtual finish time from <see cref="FairQueue.Tag"/>: lower is admitted first.</param>
internal readonly record struct WaitingRequest(int PromptTokens, double FinishTag);

/// <summary>A waiting request that gets a slot this step.</summary>
/// <param name="WaitingIndex">Its index in the waiting list the plan was made from (in finish-tag order, not always a prefix).</param>
/// <param name="Slot">The free slot it takes.</param>
internal readonly record struct Admission(int WaitingIndex, int Slot);

/// <summary>A running sequence that moves (with its KV cells) from one slot to a lower free one before the step.</summary>
internal readonly record struct SlotMove(int From, int To);

/// <summary>
/// One step's plan. Owned by the <see cref="BatchScheduler"/> that made it and overwritten by its next
/// <see cref="BatchScheduler.Plan"/> call.
/// </summary>
internal sealed class StepPlan
{
    internal readonly List<PlannedWork> WorkList = [];
    internal readonly List<Admission> AdmissionList = [];
    internal readonly List<SlotMove> MoveList = [];

    /// <summary>Moves to carry out first, in order. <see cref="Work"/> and <see cref="Admissions"/> use the slots after them.</summary>
    public IReadOnlyList<SlotMove> Moves => MoveList;

    /// <summary>Waiting requests admitted this step, in admission (finish-tag) order; their first chunk is in <see cref="Work"/>.</summary>
    public IReadOnlyList<Admission> Admissions => AdmissionList;

    /// <summary>Work in priority order: decode tokens of running sequences first, then prompt chunks, oldest first.</summary>
    public IReadOnlyList<PlannedWork> Work => WorkList;

    /// <summary>Prompt tokens in this step (at most the scheduler's budget).</summary>
    public int PromptTokens { get; internal set; }

    /// <summary>Decode tokens in this step (one per generating sequence).</summary>
    public int DecodeTokens { get; internal set; }

    public bool IsEmpty => WorkList.Count == 0;

    internal void Clear()
    {
        WorkList.Clear();
        AdmissionList.Clear();
        MoveList.Clear();
        PromptTokens = 0;
        DecodeTokens = 0;
    }
}

/// <summary>
/// Decides what one engine step does; knows nothing about llama.cpp. The policy, in order:
/// <list type="number">
/// <item>Every generating sequence gets exactly one decode token. These never wait and do not count against the budget.</item>
/// <item>Sequences that are still prefilling get prompt tokens oldest first, each as many as it still needs, until the
/// prefill budget (<c>PrefillChunk</c> tokens per step over all sequences, less while streams generate: see
/// <see cref="PrefillPacer"/>) is spent.</item>
/// <item>Waiting requests are admitted in order of their fair-queuing finish tag (<see cref="FairQueue"/>; ties in arrival
/// order) into the lowest free slots while there is a free slot and budget left; each takes its first chunk from what is
/// left of the budget. Within one tenant tags rise with arrival, so a tenant's own requests never overtake each other;
/// across tenants a newcomer is not stuck behind another tenant's backlog.</item>
/// <item>Occupied slots are kept contiguous from 0: while a free slot lies below an occupied one, the highest occupied
/// sequence moves down into the lowest free slot. (llama.cpp decodes sequences with consecutive ids in one micro-batch;
/// a gap splits the step into several passes over the weights.)</item>
/// </list>
/// There is no separate prefill phase: a long prompt is spread over steps and running streams keep getting a token each
/// step meanwhile. Not thread-safe; used only by the engine loop (and tests).
/// </summary>
internal sealed class BatchScheduler
{
    private readonly StepPlan _plan = new();
    private readonly List<int> _free = [];
    private readonly List<int> _order = [];
    private int[] _asPrefix = new int[16];
    private int[] _slotAfterMove = new int[16];
    private bool[] _occupied = new bool[16];

    public BatchScheduler(int prefillBudget)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(prefillBudget, 1);
        PrefillBudget = prefillBudget;
    }

    /// <summary>Most prompt tokens per step, over all sequences together.</summary>
    public int PrefillBudget { get; }

    /// <summary>Plans with every waiting request of one tenant: admission in arrival order.</summary>
    /// <param name="waitingPromptTokens">Prompt lengths of the waiting requests, in arrival order (each at least 1).</param>
    public StepPlan Plan(ReadOnlySpan<ActiveSequence> running, ReadOnlySpan<int> waitingPromptTokens, ReadOnlySpan<int> freeSlots)
    {
        if (_asPrefix.Length < waitingPromptTokens.Length)
            _asPrefix = new int[Math.Max(waitingPromptTokens.Length, _asPrefix.Length * 2)];
        _order.Clear();
        for (var i = 0; i < waitingPromptTokens.Length; i++)
            _order.Add(i);
        return PlanInOrder(running, waitingPromptTokens, freeSlots);
    }

    /// <param name="running">Sequences that hold a slot, oldest admission first.</param>
    /// <param name="waiting">The waiting requests, in arrival order.</param>
    /// <param name="freeSlots">Free slots, in any order; the lowest are handed out first.</param>
    /// <param name="prefillBudget">Prompt tokens for this step, at most <see cref="PrefillBudget"/>; null = all of it.</param>
    /// <returns>The plan, valid until the next call.</returns>
    public StepPlan PlanFair(ReadOnlySpan<ActiveSequence> running, ReadOnlySpan<WaitingRequest> waiting, ReadOnlySpan<int> freeSlots, int? prefillBudget = null)
    {
        if (_asPrefix.Length < waiting.Length)
            _asPrefix = new int[Math.Max(waiting.Length, _asPrefix.Length * 2)];
        _order.Clear();
        for (var i = 0; i < waiting.Length; i++)
        {
            _order.Add(i);
            _asPrefix[i] = waiting[i].PromptTokens;
        }
        // Only as many as can be admitted matter; a full sort of a long queue each step is still cheap (≤ QueueLimit).
        var tags = waiting.ToArray();
        _order.Sort((a, b) => tags[a].FinishTag != tags[b].FinishTag ? tags[a].FinishTag.CompareTo(tags[b].FinishTag) : a.CompareTo(b));
        return PlanInOrder(running, _asPrefix.AsSpan(0, waiting.Length), freeSlots, prefillBudget);
    }

    private StepPlan PlanInOrder(ReadOnlySpan<ActiveSequence> running, ReadOnlySpan<int> waitingPromptTokens, ReadOnlySpan<int> freeSlots, int? prefillBudget = null)
    {
        var limit = Math.Clamp(prefillBudget ?? PrefillBudget, 1, PrefillBudget);
        var plan = _plan;
        plan.Clear();
        _free.Clear();
        foreach (var s in freeSlots)
            _free.Add(s);
        _free.Sort();

        // :: Step 1: one decode token for every generating sequence.
        foreach (var s in running)
        {
            if (s.PromptLeft == 0)
                plan.WorkList.Add(new PlannedWork(s.Slot, 0));
        }
        plan.DecodeTokens = plan.WorkList.Count;

        // :: Step 2: prompt chunks for sequences already prefilling, oldest first.
        var budget = limit;
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

        // :: Step 3: admit waiting requests, in fair order, into the lowest free slots while budget is left.
        var admit = Math.Min(waitingPromptTokens.Length, _free.Count);
        for (var i = 0; i < admit && budget > 0; i++)
        {
            var index = _order[i];
            var take = Math.Min(Math.Max(waitingPromptTokens[index], 1), budget);
            plan.AdmissionList.Add(new Admission(index, _free[i]));
            plan.WorkList.Add(new PlannedWork(_free[i], take));
            budget -= take;
        }
        plan.PromptTokens = limit - budget;

        // :: Step 4: close gaps below occupied slots by moving the highest occupied sequences down.
        CloseGaps(plan, running, plan.AdmissionList.Count);
        return plan;
    }

    private void CloseGaps(StepPlan plan, ReadOnlySpan<ActiveSequence> running, int admitted)
    {
        // Admissions took the lowest free slots, so every gap left lies above all of them: only running sequences move.
        var top = -1;
        foreach (var s in running)
            top = Math.Max(top, s.Slot);
        if (admitted == _free.Count || _free[admitted] > top)
            return;

        if (_occupied.Length <= top)
        {
            _occupied = new bool[Math.Max(top + 1, _occupied.Length * 2)];
            _slotAfterMove = new int[_occupied.Length];
        }
        var highest = top;
        Array.Clear(_occupied, 0, highest + 1);
        foreach (var s in running)
            _occupied[s.Slot] = true;
        for (var s = 0; s <= highest; s++)
            _slotAfterMove[s] = s;

        for (var i = admitted; i < _free.Count; i++)
        {
            var gap = _free[i];
            while (top >= 0 && !_occupied[top])
                top--;
            if (gap > top)
                break;
            plan.MoveList.Add(new SlotMove(top, gap));
            _occupied[top] = false;
            _occupied[gap] = true;
            _slotAfterMove[top] = gap;
        }

        var work = plan.WorkList;
        for (var i = 0; i < work.Count; i++)
        {
            if (work[i].Slot <= highest)
                work[i] = work[i] with { Slot = _slotAfterMove[work[i].Slot] };
        }
    }
}

/// <summary>
/// Weighted fair queuing by tenant for admission, as self-clocked fair queuing (Golestani, 1994): each request gets a
/// finish tag <c>max(V, last tag of its tenant) + cost / weight</c>, where V is the tag of the request admitted most
/// recently; the scheduler admits the lowest tag first. A tenant that floods the queue only pushes its own tags up, so
/// another tenant's request is admitted after at most about one request per other backlogged tenant, not after the
/// whole backlog; a tenant with weight 2 gets twice the share of one with weight 1 while both wait. Not thread-safe;
/// used only by the engine loop (and tests).
/// </summary>
internal sealed class FairQueue
{
    private const int PruneAbove = 1024;
    private readonly Dictionary<string, double> _lastTag = new(StringComparer.Ordinal);

    /// <summary>V: the tag of the request admitted most recently.</summary>
    public double VirtualTime { get; private set; }

    /// <summary>Tags a request on arrival.</summary>
    /// <param name="cost">Its work (prompt plus most completion tokens); at least 1.</param>
    public double Tag(string tenant, int weight, int cost)
    {
        if (_lastTag.Count > PruneAbove)
        {
            // Tenants with nothing waiting carry no state that matters: their next tag starts from V anyway.
            foreach (var idle in _lastTag.Where(kv => kv.Value <= VirtualTime).Select(kv => kv.Key).ToList())
                _lastTag.Remove(idle);
        }
        var start = Math.Max(VirtualTime, _lastTag.GetValueOrDefault(tenant));
        var tag = start + (double)Math.Max(cost, 1) / Math.Max(weight, 1);
        _lastTag[tenant] = tag;
        return tag;
    }

    /// <summary>A request with <paramref name="tag"/> was admitted: the virtual clock moves to it.</summary>
    public void Admitted(double tag) => VirtualTime = Math.Max(VirtualTime, tag);
}
