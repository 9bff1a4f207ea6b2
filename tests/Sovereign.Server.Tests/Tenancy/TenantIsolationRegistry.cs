using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Tenancy;

/// <summary>One request that names a tenant-owned object; <c>{id}</c> in <paramref name="Path"/> is replaced by its id.</summary>
/// <param name="Path">Relative path; <c>{id}</c> is the object's id, <c>{sub}</c> the second id of a nested object (a document in a base);
/// any other <c>{name}</c> is sent as the bare name, an id that exists nowhere.</param>
/// <param name="Body">A JSON body, or an <see cref="HttpContent"/> factory for other media (a multipart upload).</param>
/// <param name="OwnerStatus">What the owner gets when success is impossible by nature yet proves the object was found
/// (409 for approving a run that has finished); null: any success status.</param>
public sealed record IsolationProbe(string Method, string Path, object? Body = null, int? OwnerStatus = null);

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
/// <param name="CreateAsync">Makes one as the owning tenant, through the public API; returns its id, or for a nested object
/// <c>parent|child</c> (the probes' <c>{id}</c> and <c>{sub}</c>).</param>
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
                new("POST", "v1/knowledge/{id}/documents", Upload()), new("DELETE", "v1/knowledge/{id}")],
            ListPath: "v1/knowledge"),
        new("knowledge document",
            async o =>
            {
                var kb = (await PostAsync(o, "v1/knowledge", new { name = "docs-" + Guid.NewGuid().ToString("N")[..8] }))["id"]!.GetValue<string>();
                using var response = await o.Admin.PostAsync($"v1/knowledge/{kb}/documents", Upload()());
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, text);
                return kb + "|" + JsonNode.Parse(text)!["data"]![0]!["id"]!.GetValue<string>();
            },
            [new("GET", "v1/knowledge/{id}/documents/{sub}"), new("DELETE", "v1/knowledge/{id}/documents/{sub}")]),
        new("app",
            async o => (await PostAsync(o, "v1/apps", new { id = "desk-" + Guid.NewGuid().ToString("N")[..8], name = "Desk", model = "stories", instructions = "Answer briefly." }))["id"]!.GetValue<string>(),
            [new("GET", "v1/apps/{id}"), new("PUT", "v1/apps/{id}", new { name = "Desk 2", model = "stories", instructions = "Answer briefly." }),
                new("POST", "v1/apps/{id}/publish"), new("GET", "v1/apps/{id}/versions"), new("GET", "v1/apps/{id}/versions/1"),
                new("PUT", "v1/apps/{id}", new { name = "Desk 3", model = "stories", instructions = "Answer in one line." }), new("POST", "v1/apps/{id}/publish"),
                new("POST", "v1/apps/{id}/rollback", new { version = 1 }), new("DELETE", "v1/apps/{id}")],
            ListPath: "v1/apps"),
        new("agent",
            async o => (await PostAsync(o, "v1/agents", new { name = "isolated agent", model = "stories", tools = new[] { new { type = "calculator" } } }))["id"]!.GetValue<string>(),
            [new("GET", "v1/agents/{id}"), new("PUT", "v1/agents/{id}", new { name = "renamed", model = "stories" }), new("GET", "v1/agents/{id}/runs"),
                new("POST", "v1/agents/{id}/runs", new { input = "hello", stream = false }), new("DELETE", "v1/agents/{id}")],
            ListPath: "v1/agents"),
        new("agent run",
            async o =>
            {
                var agent = (await PostAsync(o, "v1/agents", new { name = "run owner", model = "stories" }))["id"]!.GetValue<string>();
                var run = (await PostAsync(o, $"v1/agents/{agent}/runs", new { input = "hello", stream = false }))["id"]!.GetValue<string>();
                return agent + "|" + run;
            },
            [new("GET", "v1/agents/{id}/runs/{sub}"), new("POST", "v1/agents/{id}/runs/{sub}/cancel"),
                new("POST", "v1/agents/{id}/runs/{sub}/approvals/{call}", new { decision = "approve" }, OwnerStatus: 409)],
            ListPath: null),
        new("conversation",
            async o => (await PostAsync(o, "v1/conversations", new { model = "stories", title = "isolated talk" }))["id"]!.GetValue<string>(),
            [new("GET", "v1/conversations/{id}"), new("PATCH", "v1/conversations/{id}", new { title = "renamed" }), new("GET", "v1/conversations/{id}/export"),
                new("POST", "v1/conversations/{id}/messages", new { content = "and then?" }), new("DELETE", "v1/conversations/{id}")],
            ListPath: "v1/conversations"),
    ];

    /// <summary>
    /// Routes with a parameter that are not tenant-owned objects, or whose isolation another test proves, each with why.
    /// Keys are <see cref="Shape"/>s.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Exempt = new Dictionary<string, string>
    {
        ["GET v1/models/{}"] = "Models belong to the node, shared by every tenant (the model store is not tenant-owned).",
        ["GET v2/{}"] = "The model mirror serves the node's models to other nodes; models are not tenant-owned.",
        ["HEAD v2/{}"] = "The model mirror serves the node's models to other nodes; models are not tenant-owned.",
        ["GET v1/apps/templates/{}"] = "Templates ship with the platform and are the same for every tenant.",
        ["GET admin/tenants/{}"] = "Operator-only: A_tenant_admin_cannot_manage_tenants_or_make_keys_for_another_tenant proves a tenant admin is refused.",
        ["PATCH admin/tenants/{}"] = "Operator-only, as above.",
        ["GET admin/tenants/{}/limits"] = "Operator-only, as above.",
        ["PUT admin/tenants/{}/limits"] = "Operator-only, as above.",
        ["POST admin/cluster/nodes/{}/drain"] = "Operator-only; nodes are the installation's, not a tenant's.",
        ["GET apps/{}"] = "The web UI's chat page (cookie sign-in, not API keys); it reads the app through the same tenant-filtered app store that the probes of v1/apps/{id} prove.",
        ["POST apps/{}"] = "The web UI's chat page form posts (Blazor), as above.",
        // Web routes under cookie sign-in (the matrix speaks with API keys): each acts as the signed-in user inside
        // TenantScope.Enter(user.TenantId), through the same tenant-filtered stores the probes above prove.
        ["GET apps/{}/edit"] = "Web app editor (cookie sign-in, admins): reads and writes through the tenant-filtered app store, as v1/apps/{id}.",
        ["POST apps/{}/edit"] = "Web app editor form posts, as above.",
        ["GET chat/export/{}"] = "Web chat download (cookie sign-in): the conversation store filtered by tenant and owner, as v1/conversations/{id}/export.",
        ["POST manage/users/{}/role"] = "Web user administration form (cookie sign-in, antiforgery): the tenant-filtered user store, as admin/users/{id}.",
        ["POST manage/users/{}/password"] = "Web user administration form, as above.",
        ["POST manage/users/{}/disable"] = "Web user administration form, as above.",
    };

    /// <summary>"GET v1/apps/{}/versions/{}": the method and the path with every parameter blanked, for matching probes to routes.</summary>
    public static string Shape(string method, string path) =>
        method.ToUpperInvariant() + " " + System.Text.RegularExpressions.Regex.Replace(path.TrimStart('/'), @"\{[^}]*\}|(?<=/)\d+(?=/|$)", "{}");

    /// <summary>A one-file multipart upload, fresh for each request.</summary>
    private static Func<HttpContent> Upload() => () =>
    {
        var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes("Take one tablet twice a day with food."));
        part.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        form.Add(part, "file", "dosage.txt");
        return form;
    };

    /// <summary>POSTs JSON as the owner and returns the body; fails the test on an error status.</summary>
    public static async Task<JsonNode> PostAsync(IsolationOwner owner, string path, object body)
    {
        using var response = await owner.Admin.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }
}
