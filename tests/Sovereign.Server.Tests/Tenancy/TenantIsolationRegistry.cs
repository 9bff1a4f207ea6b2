using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Tenancy;

/// <summary>One request that names a tenant-owned object; <c>{id}</c> in <paramref name="Path"/> is replaced by its id.</summary>
public sealed record IsolationProbe(string Method, string Path, object? Body = null);

/// <summary>What a case gets to work with: the server, and an admin client of the tenant that owns the object.</summary>
public sealed record IsolationOwner(TestHostHandle Host, HttpClient Admin, string TenantId);

/// <summary>The server as the registry's entries see it (the TestHost type is internal to the test project).</summary>
public sealed class TestHostHandle
{
    internal TestHostHandle(TestHost host) => Host = host;

    internal TestHost Host { get; }
}

/// <summary>
/// One kind of tenant-owned object.
/// </summary>
/// <param name="Name">Shown in the test name, e.g. "knowledge base".</param>
/// <param name="CreateAsync">Makes one as the owning tenant, through the public API; returns its id.</param>
/// <param name="Probes">Every request that reads, changes or deletes it by id. Put deleting probes last.</param>
/// <param name="ListPath">A listing endpoint of the same kind (optional): the other tenant's listing must not show the id.</param>
public sealed record IsolationCase(string Name, Func<IsolationOwner, Task<string>> CreateAsync, IReadOnlyList<IsolationProbe> Probes, string? ListPath = null)
{
    public override string ToString() => Name;
}

/// <summary>
/// THE RULE: every endpoint that exists and reads, changes or deletes a tenant-owned object by id joins this registry
/// with one entry (in the area's own branch, in the same commit as the endpoint). <see cref="TenantIsolationMatrixTests"/>
/// then proves, for every entry and probe, that a key of another tenant gets 404 (not 403, so existence does not
/// leak), that the object's own tenant does not (so the probe really names the object), and that other tenants'
/// listings do not show it. Each entry creates its object through the public API as the owning tenant.
/// To add one: append an <see cref="IsolationCase"/> to <see cref="Cases"/>, e.g. for knowledge bases:
/// <code>
/// new("knowledge base", async o => (await PostAsync(o, "v1/knowledge", new { name = "kb" }))["id"]!.GetValue&lt;string&gt;(),
///     [new("GET", "v1/knowledge/{id}"), new("POST", "v1/knowledge/{id}/search", new { query = "x" }), new("DELETE", "v1/knowledge/{id}")],
///     ListPath: "v1/knowledge"),
/// </code>
/// </summary>
public static class TenantIsolationRegistry
{
    public static readonly IReadOnlyList<IsolationCase> Cases =
    [
        new("api key",
            async o => (await PostAsync(o, "admin/keys", new { name = "isolated key", scope = "inference" }))["id"]!.GetValue<string>(),
            [new("GET", "admin/keys/{id}/limits"), new("PUT", "admin/keys/{id}/limits", new { requests_per_minute = 5 }), new("DELETE", "admin/keys/{id}")],
            ListPath: "admin/keys"),
        new("user",
            async o => (await PostAsync(o, "admin/users", new { username = "person-" + Guid.NewGuid().ToString("N")[..8], role = "member", password = "isolated-password" }))["id"]!.GetValue<string>(),
            [new("GET", "admin/users/{id}"), new("PATCH", "admin/users/{id}", new { role = "developer" }), new("DELETE", "admin/users/{id}")],
            ListPath: "admin/users"),
        new("service account",
            async o => (await PostAsync(o, "admin/users", new { username = "svc-" + Guid.NewGuid().ToString("N")[..8], kind = "service", role = "developer" }))["id"]!.GetValue<string>(),
            [new("GET", "admin/users/{id}"), new("PATCH", "admin/users/{id}", new { role = "member" }), new("DELETE", "admin/users/{id}")],
            ListPath: "admin/users"),
        new("usage record",
            async o => (await PostAsync(o, "v1/chat/completions", new { model = "stories", messages = new[] { new { role = "user", content = "hi" } } }))["id"]!.GetValue<string>(),
            [],
            ListPath: "v1/usage"),
        new("audit record",
            async o => (await PostAsync(o, "admin/keys", new { name = "audited-" + Guid.NewGuid().ToString("N")[..8], scope = "inference" }))["id"]!.GetValue<string>(),
            [],
            ListPath: "admin/audit"),
        new("knowledge base",
            async o => (await PostAsync(o, "v1/knowledge", new { name = "kb-" + Guid.NewGuid().ToString("N")[..8] }))["id"]!.GetValue<string>(),
            [new("GET", "v1/knowledge/{id}"), new("GET", "v1/knowledge/{id}/documents"), new("POST", "v1/knowledge/{id}/search", new { query = "dosage" }),
                new("DELETE", "v1/knowledge/{id}")],
            ListPath: "v1/knowledge"),
        new("app",
            async o => (await PostAsync(o, "v1/apps", new { id = "desk-" + Guid.NewGuid().ToString("N")[..8], name = "Desk", model = "stories", instructions = "Answer briefly." }))["id"]!.GetValue<string>(),
            [new("GET", "v1/apps/{id}"), new("PUT", "v1/apps/{id}", new { name = "Desk 2", model = "stories", instructions = "Answer briefly." }),
                new("POST", "v1/apps/{id}/publish"), new("GET", "v1/apps/{id}/versions"), new("GET", "v1/apps/{id}/versions/1"), new("DELETE", "v1/apps/{id}")],
            ListPath: "v1/apps"),
        new("agent",
            async o => (await PostAsync(o, "v1/agents", new { name = "isolated agent", model = "stories", tools = new[] { new { type = "calculator" } } }))["id"]!.GetValue<string>(),
            [new("GET", "v1/agents/{id}"), new("PUT", "v1/agents/{id}", new { name = "renamed", model = "stories" }), new("GET", "v1/agents/{id}/runs"),
                new("DELETE", "v1/agents/{id}")],
            ListPath: "v1/agents"),
        new("conversation",
            async o => (await PostAsync(o, "v1/conversations", new { model = "stories", title = "isolated talk" }))["id"]!.GetValue<string>(),
            [new("GET", "v1/conversations/{id}"), new("PATCH", "v1/conversations/{id}", new { title = "renamed" }), new("GET", "v1/conversations/{id}/export"),
                new("DELETE", "v1/conversations/{id}")],
            ListPath: "v1/conversations"),
    ];

    /// <summary>POSTs JSON as the owner and returns the body; fails the test on an error status.</summary>
    public static async Task<JsonNode> PostAsync(IsolationOwner owner, string path, object body)
    {
        using var response = await owner.Admin.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }
}
