using System.Net;
using System.Net.Http.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Server.Tenancy;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Tenancy;

/// <summary>The audit chain: admin actions are recorded, and altering or deleting a record in the database is found.</summary>
public class AuditLogTests
{
    private static async Task<TestHost> StartWithActionsAsync()
    {
        var host = await TestHost.StartAsync();
        var admin = host.AdminClient();
        for (var i = 0; i < 3; i++)
            (await admin.PostAsJsonAsync("admin/keys", new { name = $"k{i}", scope = "inference" })).Dispose();
        (await admin.PostAsJsonAsync("admin/users", new { username = "nurse", role = "member", password = "nurse-password" })).Dispose();
        return host;
    }

    private static async Task TamperAsync(TestHost host, string sql)
    {
        // As someone with the file would: the triggers are no obstacle to them.
        SqliteConnection.ClearAllPools();
        await using var db = new SqliteConnection($"Data Source={host.Paths.Database};Pooling=False");
        await db.OpenAsync();
        await using var command = db.CreateCommand();
        command.CommandText = "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; " + sql;
        await command.ExecuteNonQueryAsync();
    }

    private static AuditVerification Verify(TestHost host)
    {
        using var db = new SqliteConnection($"Data Source={host.Paths.Database};Mode=ReadOnly;Pooling=False");
        db.Open();
        return AuditChain.Verify(db);
    }

    [Fact]
    public async Task Admin_actions_are_recorded_with_their_actor_and_the_chain_verifies()
    {
        await using var host = await StartWithActionsAsync();

        var (status, body) = await host.AdminClient().GetJsonAsync("admin/audit");
        Assert.Equal(HttpStatusCode.OK, status);
        var records = body["data"]!.AsArray();
        Assert.Equal(["key.created", "key.created", "key.created", "user.created"], records.Select(r => r!["action"]!.GetValue<string>()));
        Assert.All(records, r => Assert.StartsWith("key:key_", r!["actor"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.Equal([1L, 2, 3, 4], records.Select(r => r!["seq"]!.GetValue<long>()));

        var (_, verify) = await host.AdminClient().GetJsonAsync("admin/audit/verify");
        Assert.True(verify["intact"]!.GetValue<bool>());
        Assert.Equal(4, verify["records"]!.GetValue<long>());
    }

    [Fact]
    public async Task Model_changes_through_the_server_are_recorded_with_their_actor()
    {
        await using var host = await TestHost.StartAsync();
        var (keyId, key) = await host.CreateKeyAsync("model-admin", "admin");
        var client = host.Client(key);
        // The web UI imports through the server's store (outside a request, so the actor is the system).
        var store = host.Services.GetRequiredService<Sovereign.Models.Store.IModelStore>();
        await store.ImportAsync(TestFiles.Stories260K, Sovereign.Models.Store.ModelName.Parse("stories"));
        using (var copy = await client.PostAsJsonAsync("api/copy", new { source = "stories", destination = "stories-copy" }))
            Assert.Equal(HttpStatusCode.OK, copy.StatusCode);
        using (var delete = await client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "api/delete") { Content = JsonContent.Create(new { model = "stories-copy" }) }))
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        // A refused change leaves no record.
        using (var missing = await client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "api/delete") { Content = JsonContent.Create(new { model = "never-there" }) }))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        var (_, body) = await host.AdminClient().GetJsonAsync("admin/audit");
        var models = body["data"]!.AsArray().Where(r => r!["action"]!.GetValue<string>().StartsWith("model.", StringComparison.Ordinal)).ToList();
        Assert.Equal(["model.imported", "model.copied", "model.removed"], models.Select(r => r!["action"]!.GetValue<string>()));
        Assert.Equal(["stories:latest", "stories-copy:latest", "stories-copy:latest"], models.Select(r => r!["target"]!.GetValue<string>()));
        Assert.Equal("system", models[0]!["actor"]!.GetValue<string>());
        Assert.Equal($"key:{keyId}", models[1]!["actor"]!.GetValue<string>());
        Assert.Equal($"key:{keyId}", models[2]!["actor"]!.GetValue<string>());
        Assert.Contains("sha256", models[2]!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var (_, verify) = await host.AdminClient().GetJsonAsync("admin/audit/verify");
        Assert.True(verify["intact"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Publishing_and_deleting_an_app_and_deleting_knowledge_are_recorded()
    {
        await using var host = await TestHost.StartAsync();
        await host.ImportModelAsync("stories");
        var admin = host.AdminClient();
        (await admin.PostAsJsonAsync("v1/apps", new { id = "front-desk", name = "Front desk", model = "stories", instructions = "Be brief." })).EnsureSuccessStatusCode();
        (await admin.PostAsync("v1/apps/front-desk/publish", null)).EnsureSuccessStatusCode();
        (await admin.DeleteAsync("v1/apps/front-desk")).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("v1/knowledge", new { name = "handbook" })).EnsureSuccessStatusCode();
        (await admin.DeleteAsync("v1/knowledge/handbook")).EnsureSuccessStatusCode();

        var (_, body) = await admin.GetJsonAsync("admin/audit");
        var records = body["data"]!.AsArray().Select(r => (Action: r!["action"]!.GetValue<string>(), Detail: r["detail"]!.GetValue<string>())).ToList();
        Assert.Contains(("app.published", "version 1"), records);
        Assert.Contains(records, r => r.Action == "app.deleted");
        Assert.Contains(records, r => r.Action == "knowledge.deleted" && r.Detail.Contains("'handbook'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_table_refuses_updates_and_deletes()
    {
        await using var host = await StartWithActionsAsync();
        await using var db = new SqliteConnection($"Data Source={host.Paths.Database};Pooling=False");
        await db.OpenAsync();
        await using var command = db.CreateCommand();
        command.CommandText = "DELETE FROM audit_log WHERE seq = 1";
        var e = await Assert.ThrowsAsync<SqliteException>(() => command.ExecuteNonQueryAsync());
        Assert.Contains("append-only", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 2", 2L, "record 2 was altered")]
    [InlineData("UPDATE audit_log SET actor = 'key:someone_else' WHERE seq = 3", 3L, "record 3 was altered")]
    [InlineData("DELETE FROM audit_log WHERE seq = 2", 2L, "record 2 is missing")]
    [InlineData("DELETE FROM audit_log WHERE seq >= 3", 2L, "records after 2 are missing")]
    [InlineData("DELETE FROM audit_log WHERE seq = 4", 3L, "records after 3 are missing")]
    public async Task Altering_or_deleting_a_record_in_the_database_is_found_and_located(string sql, long seq, string problem)
    {
        await using var host = await StartWithActionsAsync();
        Assert.True(Verify(host).Intact);

        await TamperAsync(host, sql);

        var result = Verify(host);
        Assert.False(result.Intact);
        Assert.Equal(seq, result.Seq);
        Assert.Contains(problem, result.Problem, StringComparison.Ordinal);
        var (_, verify) = await host.AdminClient().GetJsonAsync("admin/audit/verify");
        Assert.False(verify["intact"]!.GetValue<bool>());
    }
}
