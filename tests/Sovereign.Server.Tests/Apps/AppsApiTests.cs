using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Sovereign.Apps.Definitions;
using Sovereign.Apps.Templates;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Apps;

/// <summary>The apps API: definitions checked against the schema, drafts, publishing, rollback and what publishing refuses.</summary>
public sealed class AppsApiTests : IAsyncLifetime
{
    private AppsServer _server = null!;

    public async Task InitializeAsync() => _server = await AppsServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private HttpClient Admin => _server.Admin;

    private static string Definition(string id, string instructions, string model = AppsServer.ChatModel) => $$"""
        {"id": "{{id}}", "name": "Policy desk", "model": "{{model}}", "instructions": "{{instructions}}",
         "sampling": {"temperature": 0, "max_tokens": 4} }
        """;

    private async Task<string> ChatSystemPromptAsync(string app)
    {
        var (status, body) = await Admin.PostJsonAsync("v1/chat/completions", $$"""{"model": "app:{{app}}", "messages": [{"role": "user", "content": "hello"}]}""");
        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        var request = _server.Engine.Last;
        Assert.Equal("system", request.Messages![0].Role);
        return request.Messages[0].Content;
    }

    [Fact]
    public async Task The_live_version_changes_only_on_publish_and_rollback()
    {
        // A new app is a draft: nothing is live, so chatting with it is refused.
        var (status, created) = await Admin.PostJsonAsync("v1/apps", Definition("policies", "Version one."));
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Null(created["live_version"]);
        var (unpublished, error) = await Admin.PostJsonAsync("v1/chat/completions", """{"model": "app:policies", "messages": [{"role": "user", "content": "hi"}]}""");
        Assert.Equal(HttpStatusCode.NotFound, unpublished);
        Assert.Contains("no published version", error["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // Publish: version 1 is live.
        var (_, v1) = await Admin.PostJsonAsync("v1/apps/policies/publish", "");
        Assert.Equal(1, v1["live_version"]!.GetValue<int>());
        Assert.Equal("Version one.", await ChatSystemPromptAsync("policies"));

        // Editing the draft changes nothing live.
        using (var put = await Admin.PutAsync("v1/apps/policies", Http.Json(Definition("policies", "Version two."))))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var (_, edited) = await Admin.GetJsonAsync("v1/apps/policies");
        Assert.Equal(1, edited["live_version"]!.GetValue<int>());
        Assert.Equal("Version one.", edited["live"]!["instructions"]!.GetValue<string>());
        Assert.Equal("Version two.", edited["draft"]!["instructions"]!.GetValue<string>());
        Assert.True(edited["unpublished_changes"]!.GetValue<bool>());
        Assert.Equal("Version one.", await ChatSystemPromptAsync("policies"));

        // Publishing the draft makes version 2 live; version 1 is kept as it was.
        var (_, v2) = await Admin.PostJsonAsync("v1/apps/policies/publish", "");
        Assert.Equal(2, v2["live_version"]!.GetValue<int>());
        Assert.False(v2["unpublished_changes"]!.GetValue<bool>());
        Assert.Equal("Version two.", await ChatSystemPromptAsync("policies"));
        var (_, old) = await Admin.GetJsonAsync("v1/apps/policies/versions/1");
        Assert.Equal("Version one.", old["definition"]!["instructions"]!.GetValue<string>());

        // Rollback goes to the version before; rollback with a version goes there.
        var (_, back) = await Admin.PostJsonAsync("v1/apps/policies/rollback", "");
        Assert.Equal(1, back["live_version"]!.GetValue<int>());
        Assert.Equal("Version two.", back["draft"]!["instructions"]!.GetValue<string>());
        Assert.Equal("Version one.", await ChatSystemPromptAsync("policies"));
        var (_, forward) = await Admin.PostJsonAsync("v1/apps/policies/rollback", """{"version": 2}""");
        Assert.Equal(2, forward["live_version"]!.GetValue<int>());
        Assert.Equal("Version two.", await ChatSystemPromptAsync("policies"));

        var (_, versions) = await Admin.GetJsonAsync("v1/apps/policies/versions");
        Assert.Equal([1, 2], versions["data"]!.AsArray().Select(v => v!["version"]!.GetValue<int>()));
        Assert.Equal([false, true], versions["data"]!.AsArray().Select(v => v!["live"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task Rollback_with_nothing_earlier_or_to_an_unknown_version_is_refused()
    {
        await Admin.PostJsonAsync("v1/apps", Definition("solo", "Only."));
        var (never, neverBody) = await Admin.PostJsonAsync("v1/apps/solo/rollback", "");
        Assert.Equal(HttpStatusCode.Conflict, never);
        Http.AssertOpenAiError(neverBody, "invalid_request_error", "nothing_to_roll_back");

        await Admin.PostJsonAsync("v1/apps/solo/publish", "");
        var (first, _) = await Admin.PostJsonAsync("v1/apps/solo/rollback", "");
        Assert.Equal(HttpStatusCode.Conflict, first);
        var (unknown, unknownBody) = await Admin.PostJsonAsync("v1/apps/solo/rollback", """{"version": 9}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Http.AssertOpenAiError(unknownBody, "invalid_request_error", "app_version_not_found", "version");
    }

    [Fact]
    public async Task Publishing_an_app_that_names_a_missing_model_is_refused_naming_it()
    {
        await Admin.PostJsonAsync("v1/apps", Definition("needs-llama", "x", model: "llama-70b:q4"));

        var (status, body) = await Admin.PostJsonAsync("v1/apps/needs-llama/publish", "");

        Assert.Equal(HttpStatusCode.Conflict, status);
        var error = Http.AssertOpenAiError(body, "invalid_request_error", "app_reference_missing", "model");
        Assert.Contains("'llama-70b:q4'", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var (_, app) = await Admin.GetJsonAsync("v1/apps/needs-llama");
        Assert.Null(app["live_version"]);
    }

    [Fact]
    public async Task Publishing_an_app_that_names_a_missing_knowledge_base_or_tool_is_refused_naming_each()
    {
        await _server.EnsureKnowledgeBaseAsync("handbook");
        await Admin.PostJsonAsync("v1/apps", """
            {"id": "gaps", "name": "Gaps", "model": "stories-chat", "instructions": "x",
             "knowledge": {"bases": ["handbook", "missing-manuals"]}, "tools": ["calculator", "weather", "mcp:files/read"]}
            """);

        var (status, body) = await Admin.PostJsonAsync("v1/apps/gaps/publish", "");

        Assert.Equal(HttpStatusCode.Conflict, status);
        var message = Http.AssertOpenAiError(body, "invalid_request_error", "app_reference_missing", "knowledge.bases[1]")["message"]!.GetValue<string>();
        Assert.Contains("'missing-manuals'", message, StringComparison.Ordinal);
        Assert.Contains("'weather'", message, StringComparison.Ordinal);
        Assert.Contains("MCP server 'files'", message, StringComparison.Ordinal);
        Assert.DoesNotContain("'handbook'", message, StringComparison.Ordinal);
        Assert.DoesNotContain("'calculator'", message, StringComparison.Ordinal);

        // Fixed in the draft, it publishes.
        using var put = await Admin.PutAsync("v1/apps/gaps", Http.Json("""
            {"name": "Gaps", "model": "stories-chat", "instructions": "x", "knowledge": {"bases": ["handbook"]}, "tools": ["calculator", "knowledge_search"]}
            """));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Admin.PostJsonAsync("v1/apps/gaps/publish", "")).Status);
    }

    [Fact]
    public async Task A_definition_breaking_the_schema_is_refused_with_every_problem()
    {
        var (status, body) = await Admin.PostJsonAsync("v1/apps", """
            {"id": "Bad Id", "name": "", "model": "stories-chat", "sampling": {"temperature": 9}, "colour": "red"}
            """);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var message = Http.AssertOpenAiError(body, "invalid_request_error", "invalid_app")["message"]!.GetValue<string>();
        foreach (var part in new[] { "/id", "/name", "/sampling/temperature", "unknown field 'colour'", "instructions" })
            Assert.Contains(part, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apps_can_be_written_in_yaml()
    {
        using var content = new StringContent("""
            id: yaml-app
            name: From YAML
            model: stories-chat
            instructions: |
              Be brief.
            starter_questions: ["What can you do?"]
            """, Encoding.UTF8, "application/yaml");
        using var response = await Admin.PostAsync("v1/apps", content);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var app = await Http.BodyAsync(response);
        Assert.Equal("Be brief.\n", app["draft"]!["instructions"]!.GetValue<string>());
        Assert.Equal("What can you do?", app["draft"]!["starter_questions"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task Ids_are_unique_per_tenant_and_the_fixed_routes_are_reserved()
    {
        Assert.Equal(HttpStatusCode.Created, (await Admin.PostJsonAsync("v1/apps", Definition("twice", "a"))).Status);
        var (again, body) = await Admin.PostJsonAsync("v1/apps", Definition("twice", "b"));
        Assert.Equal(HttpStatusCode.Conflict, again);
        Http.AssertOpenAiError(body, "invalid_request_error", "app_exists");

        var (reserved, _) = await Admin.PostJsonAsync("v1/apps", Definition("templates", "x"));
        Assert.Equal(HttpStatusCode.BadRequest, reserved);
    }

    [Fact]
    public async Task An_inference_key_can_read_apps_but_not_change_them()
    {
        await Admin.PostJsonAsync("v1/apps", Definition("readable", "a"));
        var (_, key) = await _server.Host.CreateKeyAsync("reader");
        var reader = _server.Host.Client(key);

        Assert.Equal(HttpStatusCode.OK, (await reader.GetJsonAsync("v1/apps/readable")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostJsonAsync("v1/apps/readable/publish", "")).Status);
        using var delete = await reader.DeleteAsync("v1/apps/readable");
        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
    }

    [Fact]
    public async Task A_deleted_app_is_gone_with_its_versions()
    {
        await Admin.PostJsonAsync("v1/apps", Definition("short-lived", "a"));
        await Admin.PostJsonAsync("v1/apps/short-lived/publish", "");

        using (var delete = await Admin.DeleteAsync("v1/apps/short-lived")) Assert.Equal(HttpStatusCode.OK, delete.StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetJsonAsync("v1/apps/short-lived")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetJsonAsync("v1/apps/short-lived/versions")).Status);
        var (chat, _) = await Admin.PostJsonAsync("v1/chat/completions", """{"model": "app:short-lived", "messages": [{"role": "user", "content": "hi"}]}""");
        Assert.Equal(HttpStatusCode.NotFound, chat);
    }

    [Fact]
    public async Task The_schema_and_the_templates_are_published()
    {
        using var schema = await Admin.GetAsync("v1/apps/schema");
        Assert.Equal("application/schema+json", schema.Content.Headers.ContentType!.MediaType);
        Assert.Equal(AppDocument.SchemaText, await schema.Content.ReadAsStringAsync());

        var (_, templates) = await Admin.GetJsonAsync("v1/apps/templates");
        Assert.Equal(AppTemplates.All.Select(t => t.Id), templates["data"]!.AsArray().Select(t => t!["id"]!.GetValue<string>()));
        Assert.Equal("میز پشتیبانی مشتریان", templates["data"]!.AsArray().First(t => t!["id"]!.GetValue<string>() == "customer-support")!["names"]!["fa"]!.GetValue<string>());

        using var yaml = await Admin.GetAsync("v1/apps/templates/clinical-guidelines?format=yaml");
        Assert.Contains("never diagnoses", await yaml.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetJsonAsync("v1/apps/templates/horoscopes")).Status);
    }

    [Fact]
    public async Task Creating_from_a_template_copies_it_with_the_given_id_model_and_knowledge()
    {
        var created = await _server.CreateFromTemplateAsync("teaching-assistant", "physics-101", knowledgeBases: [], publish: false);
        var template = AppTemplates.Find("teaching-assistant")!;
        Assert.Equal("physics-101", created["id"]!.GetValue<string>());
        Assert.Equal(AppsServer.ChatModel, created["draft"]!["model"]!.GetValue<string>());
        Assert.Equal(template.Instructions, created["draft"]!["instructions"]!.GetValue<string>());
        Assert.Null(created["draft"]!["knowledge"]);

        var (unknownField, body) = await Admin.PostJsonAsync("v1/apps", """{"from_template": "teaching-assistant", "id": "x1", "colour": "red"}""");
        Assert.Equal(HttpStatusCode.BadRequest, unknownField);
        Assert.Contains("colour", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
