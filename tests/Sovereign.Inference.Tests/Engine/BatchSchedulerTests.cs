using Sovereign.Inference.Engine;

namespace Sovereign.Inference.Tests.Engine;

public class BatchSchedulerTests
{
    private static StepPlan Plan(int budget, ActiveSequence[] running, int[] waiting, int[] free) =>
        new BatchScheduler(budget).Plan(running, waiting, free);

    [Fact]
    public void Idle_engine_plans_nothing()
    {
        var plan = Plan(256, [], [], [0, 1, 2]);

        Assert.True(plan.IsEmpty);
        Assert.Empty(plan.Admissions);
    }

    [Fact]
    public void Waiting_requests_are_admitted_in_arrival_order_into_free_slots_lowest_first()
    {
        var plan = Plan(256, [], [5, 7, 9], [3, 0, 2, 1]);

        Assert.Equal([new Admission(0, 0), new Admission(1, 1), new Admission(2, 2)], plan.Admissions);
        Assert.Equal([new PlannedWork(0, 5), new PlannedWork(1, 7), new PlannedWork(2, 9)], plan.Work);
        Assert.Equal(21, plan.PromptTokens);
        Assert.Empty(plan.Moves);
    }

    [Fact]
    public void Every_generating_sequence_gets_one_decode_token_first_and_outside_the_budget()
    {
        var plan = Plan(4, [new(0, 0), new(1, 0), new(2, 0)], [10], [3]);

        Assert.Equal([new PlannedWork(0, 0), new PlannedWork(1, 0), new PlannedWork(2, 0), new PlannedWork(3, 4)], plan.Work);
        Assert.Equal(3, plan.DecodeTokens);
        Assert.Equal(4, plan.PromptTokens);
    }

    [Fact]
    public void Prompt_budget_goes_to_running_prefills_oldest_first_before_admissions()
    {
        // Slot 1 (older) needs 5, slot 0 needs 100; budget 16: 5 + 11, nothing left to admit the waiting one.
        var plan = Plan(16, [new(1, 5), new(0, 100), new(2, 0)], [3], [3]);

        Assert.Equal([new PlannedWork(2, 0), new PlannedWork(1, 5), new PlannedWork(0, 11)], plan.Work);
        Assert.Empty(plan.Admissions);
        Assert.Equal(16, plan.PromptTokens);
    }

    [Fact]
    public void A_step_budget_below_the_chunk_limits_prompt_tokens_and_one_above_it_is_capped()
    {
        var scheduler = new BatchScheduler(16);
        var running = new ActiveSequence[] { new(0, 0), new(1, 100) };

        var paced = scheduler.PlanFair(running, [new WaitingRequest(5, 1)], [2], prefillBudget: 6);
        Assert.Equal([new PlannedWork(0, 0), new PlannedWork(1, 6)], paced.Work);
        Assert.Equal(6, paced.PromptTokens);
        Assert.Empty(paced.Admissions);

        var capped = scheduler.PlanFair(running, [new WaitingRequest(5, 1)], [2], prefillBudget: 1_000);
        Assert.Equal(16, capped.PromptTokens);
    }

    [Fact]
    public void Budget_is_split_first_come_first_served_and_the_last_admission_gets_what_is_left()
    {
        var plan = Plan(10, [], [4, 4, 4, 4], [0, 1, 2, 3]);

        Assert.Equal([new PlannedWork(0, 4), new PlannedWork(1, 4), new PlannedWork(2, 2)], plan.Work);
        Assert.Equal(3, plan.Admissions.Count);
        Assert.Equal(10, plan.PromptTokens);
    }

    [Fact]
    public void A_long_prompt_is_spread_over_steps_while_running_streams_keep_decoding()
    {
        var scheduler = new BatchScheduler(8);
        var left = 30;
        var steps = 0;
        while (left > 0 && steps < 100)
        {
            var plan = scheduler.Plan([new(0, 0), new(1, left)], [], []);
            Assert.Contains(new PlannedWork(0, 0), plan.Work);
            var chunk = Assert.Single(plan.Work, w => w.Slot == 1).PromptTokens;
            Assert.True(chunk <= 8);
            left -= chunk;
            steps++;
        }
        Assert.Equal(4, steps);
    }

    [Fact]
    public void Nobody_is_admitted_when_all_slots_are_full()
    {
        var plan = Plan(256, [new(0, 0), new(1, 0)], [3, 4], []);

        Assert.Empty(plan.Admissions);
        Assert.Equal(2, plan.Work.Count);
        Assert.All(plan.Work, w => Assert.True(w.IsDecode));
    }

    [Fact]
    public void Admissions_stop_at_the_number_of_free_slots()
    {
        var plan = Plan(256, [new(0, 0)], [3, 4, 5], [1]);

        Assert.Equal([new Admission(0, 1)], plan.Admissions);
    }

    [Fact]
    public void A_plan_is_rebuilt_from_scratch_on_every_call()
    {
        var scheduler = new BatchScheduler(8);
        scheduler.Plan([new(0, 0)], [5], [1]);

        var plan = scheduler.Plan([new(0, 0)], [], [1]);

        Assert.Equal([new PlannedWork(0, 0)], plan.Work);
        Assert.Empty(plan.Admissions);
        Assert.Equal(0, plan.PromptTokens);
    }

    [Fact]
    public void A_gap_below_a_running_sequence_is_closed_by_moving_the_highest_one_down()
    {
        var plan = Plan(256, [new(0, 0), new(3, 0)], [], [1, 2]);

        Assert.Equal([new SlotMove(3, 1)], plan.Moves);
        Assert.Equal([new PlannedWork(0, 0), new PlannedWork(1, 0)], plan.Work);
    }

    [Fact]
    public void A_waiting_request_fills_a_gap_so_nothing_moves()
    {
        var plan = Plan(256, [new(0, 0), new(2, 0)], [4], [3, 1]);

        Assert.Equal([new Admission(0, 1)], plan.Admissions);
        Assert.Empty(plan.Moves);
    }

    [Fact]
    public void Several_gaps_are_closed_highest_first_into_the_lowest_gaps_and_work_follows_the_moves()
    {
        var plan = Plan(256, [new(5, 0), new(1, 0), new(7, 10)], [], [6, 4, 3, 2, 0]);

        Assert.Equal([new SlotMove(7, 0), new SlotMove(5, 2)], plan.Moves);
        Assert.Equal([new PlannedWork(2, 0), new PlannedWork(1, 0), new PlannedWork(0, 10)], plan.Work);
    }

    [Fact]
    public void Contiguous_slots_never_move()
    {
        var plan = Plan(256, [new(1, 0), new(0, 0), new(2, 3)], [], [3, 4, 5]);

        Assert.Empty(plan.Moves);
    }
}
