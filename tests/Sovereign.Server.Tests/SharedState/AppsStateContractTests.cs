using Microsoft.Extensions.DependencyInjection;
using Sovereign.Apps.Conversations;
using Sovereign.Apps.Definitions;
using Sovereign.Apps.Store;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;

namespace Sovereign.Server.Tests.SharedState;

/// <summary>What the app and conversation stores promise, on SQLite and on PostgreSQL, seen from two nodes.</summary>
public abstract class AppsStateContractTests(TenancyBackend backend) : IAsyncLifetime
{
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await backend.DisposeAsync();

    private static AppDefinition App(string id, string instructions) =>
        new() { Id = id, Name = id.ToUpperInvariant(), Model = "stories", Instructions = instructions };

    [Fact]
    public async Task Apps_drafted_on_one_node_publish_and_roll_back_on_the_other_with_consecutive_versions()
    {
        var a = await backend.NodeAsync(_time);
        var b = await backend.NodeAsync(_time);
        using var tenant = TenantScope.Enter("clinic");
        var appsOnA = a.GetRequiredService<IAppStore>();
        var appsOnB = b.GetRequiredService<IAppStore>();

        await appsOnA.CreateAsync(App("triage", "v1"));
        await appsOnA.CreateAsync(App("billing", "x"));
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<SovereignException>(() => appsOnB.CreateAsync(App("triage", "again")))).Kind);
        Assert.Equal(1, (await appsOnB.PublishAsync("triage", App("triage", "v1"), "user:1")).LiveVersion);
        await appsOnA.UpdateDraftAsync(App("triage", "v2"));
        var second = await appsOnB.PublishAsync("triage", App("triage", "v2"), null);
        Assert.Equal((2, 2, "v2"), (second.LiveVersion, second.LatestVersion, second.Live!.Instructions));
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<SovereignException>(() => appsOnA.PublishAsync("triage", App("triage", "stale"), null))).Kind);

        var rolledBack = await appsOnA.RollbackAsync("triage", null);
        Assert.Equal((1, "v1"), (rolledBack.LiveVersion, rolledBack.Live!.Instructions));
        Assert.Equal([1, 2], (await appsOnB.VersionsAsync("triage"))!.Select(v => v.Version));
        Assert.Equal("user:1", (await appsOnB.GetVersionAsync("triage", 1))!.PublishedBy);
        Assert.Equal(["billing", "triage"], (await appsOnB.ListAsync()).Select(x => x.Id));
        Assert.True(await appsOnB.DeleteAsync("billing"));
        Assert.Null(await appsOnA.GetAsync("billing"));

        using (TenantScope.Enter("other"))
        {
            Assert.Null(await appsOnA.GetAsync("triage"));
            Assert.Empty(await appsOnB.ListAsync());
        }
    }

    [Fact]
    public async Task A_conversation_kept_on_one_node_continues_on_the_other_and_turns_sent_to_both_at_once_get_consecutive_numbers()
    {
        var a = await backend.NodeAsync(_time);
        var b = await backend.NodeAsync(_time);
        using var tenant = TenantScope.Enter("clinic");
        var onA = a.GetRequiredService<IConversationStore>();
        var onB = b.GetRequiredService<IConversationStore>();

        var created = await onA.CreateAsync("user:1", "stories", "Fever at night", [new("user", "My child has a fever"), new("assistant", "How high?", "[1]")]);
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => (i % 2 == 0 ? onA : onB).AppendAsync("user:1", created.Id, [new("user", $"turn {i}"), new("assistant", $"reply {i}")])));

        var kept = (await onB.GetAsync("user:1", created.Id))!;
        Assert.Equal(Enumerable.Range(0, 14), kept.Messages.Select(m => m.Seq));
        Assert.Equal("[1]", kept.Messages[1].Citations);
        // Each append's two messages stay together.
        for (var i = 2; i < 14; i += 2) Assert.Equal(kept.Messages[i].Content.Replace("turn", "reply", StringComparison.Ordinal), kept.Messages[i + 1].Content);

        await onA.CreateAsync("user:1", "stories", "Billing question", [new("user", "Where is my invoice?")]);
        Assert.Equal(["Fever at night"], (await onB.ListAsync("user:1", "FEVER", 10)).Select(c => c.Title));
        Assert.Equal(["Billing question"], (await onB.ListAsync("user:1", "invoice", 10)).Select(c => c.Title));
        // A '%' in the search is a character, not a wildcard.
        Assert.Empty(await onB.ListAsync("user:1", "fever%", 10));
        Assert.Empty(await onB.ListAsync("user:2", null, 10));
        Assert.Null(await onB.GetAsync("user:2", created.Id));

        Assert.Equal("Fever", (await onB.RenameAsync("user:1", created.Id, "Fever"))!.Title);
        Assert.False(await onA.DeleteAsync("user:2", created.Id));
        Assert.True(await onA.DeleteAsync("user:1", created.Id));
        Assert.Null(await onB.GetAsync("user:1", created.Id));
        Assert.Null(await onB.AppendAsync("user:1", created.Id, [new("user", "still there?")]));
    }
}

public sealed class SqliteAppsStateTests() : AppsStateContractTests(new SqliteTenancyBackend());

[Collection(PostgresCollection.Name)]
public sealed class PostgresAppsStateTests(PostgresServerFixture postgres) : AppsStateContractTests(new PostgresTenancyBackend(postgres));
