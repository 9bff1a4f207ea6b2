using Microsoft.Extensions.DependencyInjection;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Server.Auth;
using Sovereign.Server.Tenancy;

namespace Sovereign.Server.Tests.SharedState;

/// <summary>
/// What the tenancy stores promise, run against both backends: the node's SQLite database and the cluster's PostgreSQL.
/// Two "nodes" (service providers with their own pools and caches) share one backend, as two processes share a data
/// folder or several servers share SOV_DATABASE.
/// </summary>
public abstract class TenancyStateContractTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    private readonly ManualTime _time = new(Start);

    protected TenancyStateContractTests(TenancyBackend backend) => Backend = backend;

    protected TenancyBackend Backend { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await Backend.DisposeAsync();

    private async Task<(IServiceProvider A, IServiceProvider B)> TwoNodesAsync() => (await Backend.NodeAsync(_time), await Backend.NodeAsync(_time));

    [Fact]
    public async Task A_key_created_on_one_node_is_found_listed_and_revoked_on_the_other()
    {
        var (a, b) = await TwoNodesAsync();
        var created = await a.GetRequiredService<IApiKeyStore>().CreateAsync(new NewApiKey("ci", "inference") { AppId = "app_1" });
        var second = await a.GetRequiredService<IApiKeyStore>().CreateAsync(new NewApiKey("ci-2", "inference knowledge:read"));

        var keysOnB = b.GetRequiredService<IApiKeyStore>();
        var found = await keysOnB.FindByKeyAsync(created.Key);
        Assert.NotNull(found);
        Assert.Equal(created.Info.Id, found.Id);
        Assert.Equal("app_1", found.AppId);
        Assert.Null(await keysOnB.FindByKeyAsync(created.Key + "x"));
        Assert.Equal([created.Info.Id, second.Info.Id], (await keysOnB.ListAsync(Tenants.Default)).Select(k => k.Id));
        Assert.Equal(["inference", "knowledge:read"], (await keysOnB.ListAsync(Tenants.Default))[1].Scopes);

        var revoked = await keysOnB.RevokeAsync(Tenants.Default, created.Info.Id);
        Assert.Equal(Start, revoked!.RevokedAt);
        Assert.Equal(Start, (await a.GetRequiredService<IApiKeyStore>().FindByKeyAsync(created.Key))!.RevokedAt);
        Assert.Null(await keysOnB.RevokeAsync("other-tenant", second.Info.Id));
    }

    [Fact]
    public async Task Nodes_starting_at_once_create_one_first_admin_key()
    {
        var (a, b) = await TwoNodesAsync();
        var attempts = Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? a : b).GetRequiredService<IApiKeyStore>()
            .CreateIfNoneActiveAsync(new NewApiKey("admin", ApiKeyScopes.Admin)));
        var made = await Task.WhenAll(attempts);
        Assert.Single(made, k => k is not null);
        Assert.Single(await a.GetRequiredService<IApiKeyStore>().ListAsync(Tenants.Default));
    }

    [Fact]
    public async Task Tenants_made_on_one_node_are_seen_on_the_other_and_a_second_with_the_same_id_conflicts()
    {
        var (a, b) = await TwoNodesAsync();
        await a.GetRequiredService<ITenantStore>().CreateAsync("clinic", "Clinic", 3);
        var tenantsOnB = b.GetRequiredService<ITenantStore>();
        Assert.Equal(["default", "clinic"], (await tenantsOnB.ListAsync()).Select(t => t.Id).Order(StringComparer.Ordinal).Reverse());
        Assert.Equal(5, (await tenantsOnB.SetWeightAsync("clinic", 5))!.Weight);
        Assert.Equal(5, (await a.GetRequiredService<ITenantStore>().FindAsync("clinic"))!.Weight);
        var conflict = await Assert.ThrowsAsync<SovereignException>(() => tenantsOnB.CreateAsync("clinic", "Again", 1));
        Assert.Equal(ErrorKind.Conflict, conflict.Kind);
    }

    [Fact]
    public async Task Usernames_are_unique_across_nodes_whatever_their_case_and_users_stay_in_their_tenant()
    {
        var (a, b) = await TwoNodesAsync();
        await a.GetRequiredService<ITenantStore>().CreateAsync("clinic", "Clinic", 1);
        var user = await a.GetRequiredService<IUserStore>().CreateAsync(new NewUser("clinic", "Amina", "Amina", Roles.Admin, UserKinds.Person, "correct horse"));

        var usersOnB = b.GetRequiredService<IUserStore>();
        var conflict = await Assert.ThrowsAsync<SovereignException>(() =>
            usersOnB.CreateAsync(new NewUser(Tenants.Default, "amina", "Other", Roles.Member, UserKinds.Person)));
        Assert.Equal(ErrorKind.Conflict, conflict.Kind);

        using (TenantScope.Enter("clinic"))
        {
            Assert.Equal(user.Id, (await usersOnB.FindAsync(user.Id))!.Id);
            Assert.Equal([user.Id], (await usersOnB.ListAsync()).Select(u => u.Id));
        }
        using (TenantScope.Enter(Tenants.Default))
        {
            Assert.Null(await usersOnB.FindAsync(user.Id));
            Assert.Null(await usersOnB.SetRoleAsync(user.Id, Roles.Owner));
        }
        Assert.Equal(SignInOutcome.Success, (await usersOnB.SignInAsync("AMINA", "correct horse")).Outcome);
        Assert.Equal(1, await usersOnB.CountPeopleAsync("clinic"));
    }

    [Fact]
    public async Task Failed_sign_ins_on_two_nodes_add_up_to_one_lockout()
    {
        var (a, b) = await TwoNodesAsync();
        await a.GetRequiredService<IUserStore>().CreateAsync(new NewUser(Tenants.Default, "omar", "Omar", Roles.Member, UserKinds.Person, "right password"));
        // The default allows five failures; alternate nodes, a few at once, so they race on the same row.
        var failures = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => (i % 2 == 0 ? a : b).GetRequiredService<IUserStore>().SignInAsync("omar", "wrong")));
        Assert.All(failures, f => Assert.Equal(SignInOutcome.Invalid, f.Outcome));
        var fifth = await b.GetRequiredService<IUserStore>().SignInAsync("omar", "wrong");
        Assert.Equal(SignInOutcome.Locked, fifth.Outcome);
        Assert.Equal(SignInOutcome.Locked, (await a.GetRequiredService<IUserStore>().SignInAsync("omar", "right password")).Outcome);
    }

    [Fact]
    public async Task Usage_recorded_at_once_on_two_nodes_adds_up_in_the_records_and_the_token_counters()
    {
        var (a, b) = await TwoNodesAsync();
        const int PerNode = 10;
        var records = Enumerable.Range(0, 2 * PerNode).Select(i => new UsageRecord(Tenants.Default, $"req-{i}", "key_1", null, i % 2 == 0 ? "m1" : "m2", null, "openai",
            3, 2, 12.5, 40, "stop", Start.AddSeconds(i)));
        await Task.WhenAll(records.Select((r, i) => (i < PerNode ? a : b).GetRequiredService<IUsageStore>().RecordAsync(r)));

        var quotasOnA = a.GetRequiredService<IQuotaStore>();
        Assert.Equal(100, await quotasOnA.TokensUsedAsync(QuotaSubjects.Tenant(Tenants.Default), QuotaSubjects.Day(Start)));
        Assert.Equal(100, await quotasOnA.TokensUsedAsync(QuotaSubjects.Tenant(Tenants.Default), QuotaSubjects.Month(Start)));
        Assert.Equal(100, await quotasOnA.TokensUsedAsync(QuotaSubjects.Key("key_1"), QuotaSubjects.Day(Start)));
        Assert.Equal(0, await quotasOnA.TokensUsedAsync(QuotaSubjects.Key("key_2"), QuotaSubjects.Day(Start)));

        using (TenantScope.Enter(Tenants.Default))
        {
            var usageOnB = b.GetRequiredService<IUsageStore>();
            var listed = await usageOnB.ListAsync(new UsageQuery());
            Assert.Equal(Enumerable.Range(0, 2 * PerNode).Select(i => $"req-{i}"), listed.Select(r => r.RequestId));
            Assert.Equal(Start.AddSeconds(3), listed[3].At);
            Assert.Equal(12.5, listed[3].TtftMs);
            var byModel = await usageOnB.GroupAsync(new UsageQuery(GroupBy: UsageGrouping.Model));
            Assert.Equal([("m1", 10L, 30L, 20L), ("m2", 10L, 30L, 20L)], byModel.Select(g => (g.Group, g.Requests, g.PromptTokens, g.CompletionTokens)));
            var byDay = Assert.Single(await usageOnB.GroupAsync(new UsageQuery(GroupBy: UsageGrouping.Day)));
            Assert.Equal("2026-11-27", byDay.Group);
            Assert.Equal(12.5, byDay.AvgTtftMs);
            Assert.Equal(5, (await usageOnB.ListAsync(new UsageQuery(From: Start.AddSeconds(5), To: Start.AddSeconds(10)))).Count);
        }
        using (TenantScope.Enter("clinic"))
        {
            Assert.Empty(await b.GetRequiredService<IUsageStore>().ListAsync(new UsageQuery()));
        }
    }

    [Fact]
    public async Task Quota_limits_set_on_one_node_are_read_on_the_other()
    {
        var (a, b) = await TwoNodesAsync();
        await a.GetRequiredService<IQuotaStore>().SetAsync(QuotaSubjects.Tenant(Tenants.Default), Tenants.Default, new QuotaLimits(5, 1_000, null, 2));
        Assert.Equal(new QuotaLimits(5, 1_000, null, 2), await b.GetRequiredService<IQuotaStore>().GetAsync(QuotaSubjects.Tenant(Tenants.Default)));
        await b.GetRequiredService<IQuotaStore>().SetAsync(QuotaSubjects.Tenant(Tenants.Default), Tenants.Default, QuotaLimits.None);
        Assert.Equal(QuotaLimits.None, await a.GetRequiredService<IQuotaStore>().GetAsync(QuotaSubjects.Tenant(Tenants.Default)));
        Assert.Equal(QuotaLimits.None, await a.GetRequiredService<IQuotaStore>().GetAsync(QuotaSubjects.Key("unknown")));
    }

    [Fact]
    public async Task A_full_request_window_refuses_counts_nothing_for_the_refused_request_and_reopens_after_a_minute()
    {
        var node = await Backend.NodeAsync(_time);
        var windows = node.GetRequiredService<IRequestWindows>();
        RequestWindow[] both = [new("tenant:default", 10), new("key:k1", 2)];

        Assert.Null(await windows.TryCountAsync(both, _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Null(await windows.TryCountAsync(both, _time.GetUtcNow()));
        var refused = await windows.TryCountAsync(both, _time.GetUtcNow());
        Assert.Equal(new RequestWindowRefusal(1, 2, TimeSpan.FromSeconds(40)), refused);

        // The refused request did not use up the tenant's window: 8 more fit, the 9th does not.
        for (var i = 0; i < 8; i++) Assert.Null(await windows.TryCountAsync([new("tenant:default", 10)], _time.GetUtcNow()));
        Assert.Equal(0, (await windows.TryCountAsync([new("tenant:default", 10)], _time.GetUtcNow()))!.Index);

        _time.Advance(TimeSpan.FromSeconds(40));
        Assert.Null(await windows.TryCountAsync([new("key:k1", 2)], _time.GetUtcNow()));
    }

    [Fact]
    public async Task Generation_places_run_out_at_the_limit_take_nothing_when_refused_and_come_back_when_a_lease_ends()
    {
        var node = await Backend.NodeAsync(_time);
        var slots = node.GetRequiredService<IGenerationSlots>();
        ConcurrencyLimit[] both = [new("tenant:default", 3), new("key:k1", 2)];

        var (first, _) = await slots.TryAcquireAsync(both, _time.GetUtcNow());
        var (second, _) = await slots.TryAcquireAsync(both, _time.GetUtcNow());
        var (none, refusal) = await slots.TryAcquireAsync(both, _time.GetUtcNow());
        Assert.Null(none);
        Assert.Equal((1, 2), (refusal!.Index, refusal.Used));

        // The refused attempt took no tenant place: one is left.
        var (third, _) = await slots.TryAcquireAsync([new("tenant:default", 3)], _time.GetUtcNow());
        Assert.NotNull(third);
        Assert.Equal(0, (await slots.TryAcquireAsync([new("tenant:default", 3)], _time.GetUtcNow())).Refusal!.Index);

        first!.Dispose();
        first.Dispose();
        var (again, _) = await slots.TryAcquireAsync([new("key:k1", 2)], _time.GetUtcNow());
        Assert.NotNull(again);
        Assert.NotNull((await slots.TryAcquireAsync([new("key:k1", 2)], _time.GetUtcNow())).Refusal);
        foreach (var lease in new[] { second!, third, again }) lease.Dispose();
    }

    [Fact]
    public async Task Audit_records_appended_at_once_on_two_nodes_form_one_intact_chain()
    {
        var (a, b) = await TwoNodesAsync();
        const int PerNode = 12;
        await Task.WhenAll(Enumerable.Range(0, 2 * PerNode).Select(async i =>
        {
            using var scope = TenantScope.Enter(i % 3 == 0 ? "clinic" : Tenants.Default);
            await (i % 2 == 0 ? a : b).GetRequiredService<IAuditLog>().AppendAsync(new AuditEvent(AuditActions.KeyCreated, $"key_{i}") { Actor = "system" });
        }));

        var verification = b.GetRequiredService<IAuditReader>().Verify();
        Assert.True(verification.Intact, verification.Problem);
        Assert.Equal(2 * PerNode, verification.Records);
        using (TenantScope.Enter("clinic"))
        {
            var clinic = await a.GetRequiredService<IAuditReader>().ListAsync(null, 100);
            Assert.Equal(8, clinic.Count);
            Assert.All(clinic, r => Assert.Equal("clinic", r.TenantId));
            Assert.Equal(clinic.Select(r => r.Seq).Order(), clinic.Select(r => r.Seq));
        }
    }
}

public sealed class SqliteTenancyStateTests() : TenancyStateContractTests(new SqliteTenancyBackend());

[Collection(PostgresCollection.Name)]
public sealed class PostgresTenancyStateTests(PostgresServerFixture postgres) : TenancyStateContractTests(new PostgresTenancyBackend(postgres))
{
    [Fact]
    public async Task Request_windows_count_the_requests_of_every_node()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero));
        var a = (await Backend.NodeAsync(time)).GetRequiredService<IRequestWindows>();
        var b = (await Backend.NodeAsync(time)).GetRequiredService<IRequestWindows>();
        RequestWindow[] key = [new("key:shared", 3)];

        Assert.Null(await a.TryCountAsync(key, time.GetUtcNow()));
        Assert.Null(await b.TryCountAsync(key, time.GetUtcNow()));
        Assert.Null(await a.TryCountAsync(key, time.GetUtcNow()));
        Assert.Equal(3, (await b.TryCountAsync(key, time.GetUtcNow()))!.Used);
    }

    [Fact]
    public async Task Concurrent_requests_on_two_nodes_never_overfill_a_window()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero));
        var a = (await Backend.NodeAsync(time)).GetRequiredService<IRequestWindows>();
        var b = (await Backend.NodeAsync(time)).GetRequiredService<IRequestWindows>();
        RequestWindow[] key = [new("key:busy", 5)];
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => (i % 2 == 0 ? a : b).TryCountAsync(key, time.GetUtcNow()).AsTask()));
        Assert.Equal(5, results.Count(r => r is null));
    }

    [Fact]
    public async Task Generations_on_two_nodes_share_one_limit_and_a_dead_nodes_places_come_back_when_its_leases_expire()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero));
        var a = (await Backend.NodeAsync(time)).GetRequiredService<IGenerationSlots>();
        var b = (await Backend.NodeAsync(time)).GetRequiredService<IGenerationSlots>();
        ConcurrencyLimit[] key = [new("key:shared", 1)];

        // A takes the only place and then "dies": its lease is neither renewed nor released.
        var (held, _) = await a.TryAcquireAsync(key, time.GetUtcNow());
        Assert.NotNull(held);
        Assert.Equal(1, (await b.TryAcquireAsync(key, time.GetUtcNow())).Refusal!.Used);

        time.Advance(PostgresGenerationSlots.LeaseLifetime);
        var (taken, _) = await b.TryAcquireAsync(key, time.GetUtcNow());
        Assert.NotNull(taken);
        taken.Dispose();
        held!.Dispose();
    }

    [Fact]
    public async Task The_shared_audit_log_refuses_updates_deletes_and_truncation()
    {
        var node = await Backend.NodeAsync(new ManualTime(DateTimeOffset.UnixEpoch));
        await node.GetRequiredService<IAuditLog>().AppendAsync(new AuditEvent(AuditActions.KeyCreated, "key_1") { Actor = "system" });
        var database = node.GetRequiredService<Sovereign.Data.PostgresDatabase>();
        foreach (var sql in new[] { "UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log" })
        {
            await using var connection = await database.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand(sql, connection);
            var refused = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Contains("append-only", refused.MessageText, StringComparison.Ordinal);
        }
        Assert.True(node.GetRequiredService<IAuditReader>().Verify().Intact);
    }

    [Fact]
    public async Task Nodes_migrating_the_same_new_database_at_once_migrate_it_once()
    {
        var nodes = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Backend.NodeAsync(new ManualTime(DateTimeOffset.UnixEpoch))));
        var database = nodes[0].GetRequiredService<Sovereign.Data.PostgresDatabase>();
        await using var connection = await database.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT string_agg(module || '=' || version, ',' ORDER BY module) FROM schema_migrations", connection);
        // Each module once, at its newest PostgreSQL version (agents has two: runs, then pending approvals).
        Assert.Equal("agents=2,apps=1,core=1,tenancy=1", await command.ExecuteScalarAsync());
        Assert.Equal(5, await database.MigrateAsync()); // the total of those versions: a second migration adds nothing
    }
}
