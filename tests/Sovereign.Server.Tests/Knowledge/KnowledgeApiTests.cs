using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sovereign.Core.Tenancy;
using Sovereign.Data;
using Sovereign.Knowledge.Index;
using Sovereign.Server.Auth;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Knowledge;

public sealed class KnowledgeApiTests
{
    private const string Handbook = """
        # Staff handbook

        ## Parking

        Night shift workers park free of charge after seven in the evening. Day staff buy a monthly permit.

        ## Pharmacy

        The hospital pharmacy opens at eight and closes at twenty hours on weekdays.
        """;

    private const string Notes = "Fire drills happen on the first Tuesday of every month. Evacuate horizontally and never use the lifts.";

    [Fact]
    public async Task Text_and_markdown_uploaded_over_http_are_ingested_and_found_by_search_in_every_mode()
    {
        await using var host = await TestHost.StartAsync();
        var client = host.AdminClient();
        var kb = await client.CreateBaseAsync("handbook");
        Assert.Equal("knowledge_base", kb["object"]!.GetValue<string>());
        Assert.Equal("all-minilm", kb["embedding_model"]!.GetValue<string>());

        var docs = await client.IngestAsync("handbook", KnowledgeClient.Text("handbook.md", Handbook, "text/markdown"), KnowledgeClient.Text("notes.txt", Notes));

        Assert.All(docs, d => Assert.Equal("ready", d["status"]!.GetValue<string>()));
        Assert.All(docs, d => Assert.Equal(1.0, d["progress"]!.GetValue<double>()));
        Assert.Equal(["text/markdown", "text/plain"], docs.Select(d => d["media_type"]!.GetValue<string>()));
        Assert.All(docs, d => Assert.True(d["chunks"]!.GetValue<int>() >= 1));

        foreach (var mode in new[] { "hybrid", "vector", "fulltext" })
        {
            var hits = await client.SearchAsync("handbook", "Where do night shift workers park?", mode, topK: 2);
            var best = hits[0]!;
            Assert.Contains("park free of charge", best["text"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal("handbook.md", best["document_name"]!.GetValue<string>());
            Assert.Equal(docs[0]["id"]!.GetValue<string>(), best["document_id"]!.GetValue<string>());
            Assert.Contains("Parking", best["heading_path"]!.AsArray().Select(h => h!.GetValue<string>()));
            // No reranker is configured: the first stage's order, and no rerank_score at all.
            Assert.All(hits, h => Assert.False(h!.AsObject().ContainsKey("rerank_score")));
        }

        // A document filter keeps the search inside the named documents.
        var (status, filtered) = await client.PostJsonAsync("v1/knowledge/handbook/search",
            new JsonObject { ["query"] = "parking", ["document_ids"] = new JsonArray(docs[1]["id"]!.GetValue<string>()) }.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.All(filtered["data"]!.AsArray(), h => Assert.Equal("notes.txt", h!["document_name"]!.GetValue<string>()));

        var (_, list) = await client.GetJsonAsync("v1/knowledge");
        var listed = Assert.Single(list["data"]!.AsArray())!;
        Assert.Equal(2, listed["document_count"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_original_is_on_disk_byte_for_byte_when_the_upload_is_accepted()
    {
        await using var host = await TestHost.StartAsync();
        var client = host.AdminClient();
        await client.CreateBaseAsync("originals");
        var bytes = Encoding.UTF8.GetBytes("Ünïcödé bytes, kept as sent.\r\nSecond line without trailing newline");

        var (status, body) = await client.UploadAsync("originals", KnowledgeClient.Files(("report.txt", bytes, "text/plain")));

        Assert.Equal(HttpStatusCode.Accepted, status);
        var doc = body["data"]![0]!;
        Assert.Equal("report.txt", doc["name"]!.GetValue<string>());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), doc["sha256"]!.GetValue<string>());
        var stored = Directory.GetFiles(Path.Combine(host.Home, "uploads"), doc["id"]!.GetValue<string>(), SearchOption.AllDirectories);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Assert.Single(stored)));
    }

    [Fact]
    public async Task Bad_uploads_get_clear_errors_and_leave_nothing_behind()
    {
        await using var host = await TestHost.StartAsync(settings: ["--Sovereign:Knowledge:MaxUploadBytes=1000"]);
        var client = host.AdminClient();
        await client.CreateBaseAsync("strict");

        var (tooBig, tooBigBody) = await client.UploadAsync("strict",
            KnowledgeClient.Files(KnowledgeClient.Text("small.txt", "fine"), ("big.txt", new byte[5000], "text/plain")));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig);
        Http.AssertOpenAiError(tooBigBody, "invalid_request_error", "file_too_large");

        var (notMultipart, notMultipartBody) = await client.PostJsonAsync("v1/knowledge/strict/documents", "{}");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notMultipart);
        Http.AssertOpenAiError(notMultipartBody, "invalid_request_error", "unsupported_media_type");

        var noFile = new MultipartFormDataContent { { new StringContent("just a field"), "comment" } };
        var (missing, missingBody) = await client.UploadAsync("strict", noFile);
        Assert.Equal(HttpStatusCode.BadRequest, missing);
        Http.AssertOpenAiError(missingBody, "invalid_request_error", "missing_file");

        var (empty, emptyBody) = await client.UploadAsync("strict", KnowledgeClient.Files(("empty.txt", [], "text/plain")));
        Assert.Equal(HttpStatusCode.BadRequest, empty);
        Http.AssertOpenAiError(emptyBody, "invalid_request_error", "empty_file");

        var (unknown, unknownBody) = await client.UploadAsync("nope", KnowledgeClient.Files(KnowledgeClient.Text("a.txt", "a")));
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Http.AssertOpenAiError(unknownBody, "invalid_request_error", "knowledge_base_not_found");

        var (_, docs) = await client.GetJsonAsync("v1/knowledge/strict/documents");
        Assert.Empty(docs["data"]!.AsArray());
        var uploads = Path.Combine(host.Home, "uploads");
        Assert.True(!Directory.Exists(uploads) || Directory.GetFiles(uploads, "*", SearchOption.AllDirectories).Length == 0);
    }

    [Fact]
    public async Task Knowledge_base_names_are_checked_and_unique_per_tenant()
    {
        await using var host = await TestHost.StartAsync();
        var client = host.AdminClient();
        await client.CreateBaseAsync("policies");

        var (duplicate, duplicateBody) = await client.PostJsonAsync("v1/knowledge", """{"name": "policies"}""");
        Assert.Equal(HttpStatusCode.Conflict, duplicate);
        Http.AssertOpenAiError(duplicateBody, "invalid_request_error", "knowledge_base_exists", "name");

        var (bad, badBody) = await client.PostJsonAsync("v1/knowledge", """{"name": "../etc"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Http.AssertOpenAiError(badBody, "invalid_request_error", "invalid_value", "name");

        var (model, modelBody) = await client.PostJsonAsync("v1/knowledge", """{"name": "other", "embedding_model": "no-such-model"}""");
        Assert.Equal(HttpStatusCode.NotFound, model);
        Http.AssertOpenAiError(modelBody, "invalid_request_error", "model_not_found");

        var (search, searchBody) = await client.PostJsonAsync("v1/knowledge/policies/search", """{"query": "", "mode": "semantic", "top_k": 0}""");
        Assert.Equal(HttpStatusCode.BadRequest, search);
        var message = Http.AssertOpenAiError(searchBody, "invalid_request_error")["message"]!.GetValue<string>();
        Assert.Contains("query", message, StringComparison.Ordinal);
        Assert.Contains("mode", message, StringComparison.Ordinal);
        Assert.Contains("top_k", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleting_a_document_removes_its_chunks_vectors_full_text_rows_and_original()
    {
        await using var host = await TestHost.StartAsync();
        var client = host.AdminClient();
        var kb = await client.CreateBaseAsync("deletions");
        var kbId = kb["id"]!.GetValue<string>();
        var docs = await client.IngestAsync("deletions", KnowledgeClient.Text("handbook.md", Handbook, "text/markdown"), KnowledgeClient.Text("notes.txt", Notes));
        var gone = docs[0]["id"]!.GetValue<string>();
        var index = host.Services.GetRequiredService<IKnowledgeIndex>();
        IndexCounts before;
        using (TenantScope.Enter(TenantScope.DefaultTenant)) before = await index.CountAsync(kbId, gone);
        Assert.True(before.Chunks > 0);

        using var response = await client.DeleteAsync($"v1/knowledge/deletions/documents/{gone}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((await Http.BodyAsync(response))["deleted"]!.GetValue<bool>());
        using (TenantScope.Enter(TenantScope.DefaultTenant))
        {
            Assert.Equal(new IndexCounts(0, 0, 0), await index.CountAsync(kbId, gone));
            Assert.Equal(docs[1]["chunks"]!.GetValue<int>(), (await index.CountAsync(kbId)).FullTextRows);
        }
        Assert.Empty(Directory.GetFiles(Path.Combine(host.Home, "uploads"), gone, SearchOption.AllDirectories));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetJsonAsync($"v1/knowledge/deletions/documents/{gone}")).Status);
        Assert.All(await client.SearchAsync("deletions", "night shift parking"), h => Assert.Equal("notes.txt", h!["document_name"]!.GetValue<string>()));

        using var dropBase = await client.DeleteAsync("v1/knowledge/deletions");
        Assert.Equal(HttpStatusCode.OK, dropBase.StatusCode);
        using (TenantScope.Enter(TenantScope.DefaultTenant)) Assert.Equal(new IndexCounts(0, 0, 0), await index.CountAsync(kbId));
        Assert.False(Directory.EnumerateFiles(Path.Combine(host.Home, "uploads"), "*", SearchOption.AllDirectories).Any());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetJsonAsync("v1/knowledge/deletions")).Status);
    }

    [Fact]
    public async Task A_file_that_cannot_be_read_fails_with_its_reason_and_the_knowledge_base_stays_as_it_was()
    {
        await using var host = await TestHost.StartAsync();
        var client = host.AdminClient();
        await client.CreateBaseAsync("mixed");
        await client.IngestAsync("mixed", KnowledgeClient.Text("notes.txt", Notes));
        var before = await client.SearchAsync("mixed", "fire drills", "fulltext");

        var garbage = new byte[4096];
        new Random(5).NextBytes(garbage);
        var failed = (await client.IngestAsync("mixed", ("report.pdf", garbage, "application/pdf")))[0];

        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(failed["error"]!.GetValue<string>()));
        Assert.Equal(0, failed["chunks"]!.GetValue<int>());
        Assert.Equal(before.ToJsonString(), (await client.SearchAsync("mixed", "fire drills", "fulltext")).ToJsonString());
    }

    [Fact]
    public async Task Another_tenants_knowledge_bases_and_documents_look_like_they_do_not_exist()
    {
        await using var host = await TestHost.StartAsync();
        var admin = host.AdminClient();
        await admin.CreateBaseAsync("secret");
        var doc = (await admin.IngestAsync("secret", KnowledgeClient.Text("notes.txt", Notes)))[0]["id"]!.GetValue<string>();
        using (var connection = host.Services.GetRequiredService<SqliteDatabase>().Open())
        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO tenants (id, name, created_at) VALUES ('tenant-b', 'B', 0)";
            insert.ExecuteNonQuery();
        }
        var key = await host.Services.GetRequiredService<IApiKeyStore>().CreateAsync(new NewApiKey("b", $"{ApiKeyScopes.Inference} {ApiKeyScopes.KnowledgeRead} {ApiKeyScopes.KnowledgeWrite}", "tenant-b"));
        var other = host.Client(key.Key);

        Assert.Empty((await other.GetJsonAsync("v1/knowledge")).Body["data"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetJsonAsync("v1/knowledge/secret")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetJsonAsync($"v1/knowledge/secret/documents/{doc}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostJsonAsync("v1/knowledge/secret/search", """{"query": "fire"}""")).Status);
        using (var delete = await other.DeleteAsync("v1/knowledge/secret")) Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);

        // The same name is free for the other tenant, and its base is its own.
        await other.CreateBaseAsync("secret");
        Assert.Empty(await other.SearchAsync("secret", "fire drills"));
        Assert.NotEmpty(await admin.SearchAsync("secret", "fire drills"));
    }
}
