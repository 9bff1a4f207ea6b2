using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Apps;

/// <summary>Kept conversations: create, continue through the real engine, search, export, and delete for good.</summary>
public sealed class ConversationsApiTests : IAsyncLifetime
{
    private AppsServer _server = null!;

    public async Task InitializeAsync() => _server = await AppsServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private HttpClient Admin => _server.Admin;

    private async Task<string> CreateAsync(string model, string? title = null)
    {
        var (status, body) = await Admin.PostJsonAsync("v1/conversations", new JsonObject { ["model"] = model, ["title"] = title }.ToJsonString());
        Assert.True(status == HttpStatusCode.Created, body.ToJsonString());
        return body["id"]!.GetValue<string>();
    }

    private long Rows(string sql, string id)
    {
        using var connection = new SqliteConnection($"Data Source={_server.Host.Paths.Database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public async Task A_conversation_through_an_app_is_continued_with_its_history_and_kept()
    {
        await _server.CreateFromTemplateAsync("customer-support", "conv-support");
        var id = await CreateAsync("app:conv-support");

        var (first, answer1) = await Admin.PostJsonAsync($"v1/conversations/{id}/messages", """{"content": "Where is my parcel?", "max_tokens": 5, "temperature": 0}""");
        Assert.True(first == HttpStatusCode.OK, answer1.ToJsonString());
        var text1 = answer1["choices"]![0]!["message"]!["content"]!.GetValue<string>();

        // The second turn sends the whole history after the app's system prompt.
        var (second, _) = await Admin.PostJsonAsync($"v1/conversations/{id}/messages", """{"content": "And when will it come?", "max_tokens": 5}""");
        Assert.Equal(HttpStatusCode.OK, second);
        var sent = _server.Engine.Last.Messages!;
        Assert.Equal(["system", "user", "assistant", "user"], sent.Select(m => m.Role));
        Assert.Equal(["Where is my parcel?", text1, "And when will it come?"], sent.Skip(1).Select(m => m.Content));

        var (_, kept) = await Admin.GetJsonAsync($"v1/conversations/{id}");
        Assert.Equal("app:conv-support", kept["model"]!.GetValue<string>());
        Assert.Equal(["user", "assistant", "user", "assistant"], kept["messages"]!.AsArray().Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal(text1, kept["messages"]![1]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_streamed_answer_is_kept_as_the_client_saw_it()
    {
        var id = await CreateAsync(AppsServer.ChatModel);

        using var response = await Admin.PostAsync($"v1/conversations/{id}/messages", Http.Json("""{"content": "Once upon a time", "stream": true, "max_tokens": 8, "temperature": 0}"""));
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var streamed = new StringBuilder();
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal)) continue;
            if (JsonNode.Parse(line[6..])!["choices"]?[0]?["delta"]?["content"] is JsonValue piece) streamed.Append(piece.GetValue<string>());
        }

        var (_, kept) = await Admin.GetJsonAsync($"v1/conversations/{id}");
        Assert.True(streamed.Length > 0);
        Assert.Equal(streamed.ToString(), kept["messages"]![1]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_failed_answer_keeps_nothing()
    {
        var id = await CreateAsync(AppsServer.ChatModel);

        var (status, _) = await Admin.PostJsonAsync($"v1/conversations/{id}/messages", """{"content": "hi", "temperature": 7}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var (_, kept) = await Admin.GetJsonAsync($"v1/conversations/{id}");
        Assert.Empty(kept["messages"]!.AsArray());
    }

    [Fact]
    public async Task Conversations_are_listed_newest_first_and_searched_by_title_and_text()
    {
        var a = await CreateAsync(AppsServer.ChatModel, "Irrigation plan");
        var (_, withMessages) = await Admin.PostJsonAsync("v1/conversations",
            """{"model": "stories-chat", "messages": [{"role": "user", "content": "The kettle from order 55 leaks"}, {"role": "assistant", "content": "Sorry to hear that."}]}""");
        var b = withMessages["id"]!.GetValue<string>();
        Assert.Equal("The kettle from order 55 leaks", withMessages["title"]!.GetValue<string>());

        var (_, all) = await Admin.GetJsonAsync("v1/conversations");
        Assert.Equal([b, a], all["data"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()));
        var (_, byText) = await Admin.GetJsonAsync("v1/conversations?q=KETTLE");
        Assert.Equal([b], byText["data"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()));
        var (_, byTitle) = await Admin.GetJsonAsync("v1/conversations?q=irrigation");
        Assert.Equal([a], byTitle["data"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()));
        var (_, wildcard) = await Admin.GetJsonAsync("v1/conversations?q=%25");
        Assert.Empty(wildcard["data"]!.AsArray());
    }

    [Fact]
    public async Task A_conversation_exports_as_json_and_markdown()
    {
        var (_, created) = await Admin.PostJsonAsync("v1/conversations",
            """{"model": "app:none-yet", "title": "Returns", "messages": [{"role": "user", "content": "How do I return it?"}, {"role": "assistant", "content": "Within 30 days."}]}""");
        var id = created["id"]!.GetValue<string>();

        using var json = await Admin.GetAsync($"v1/conversations/{id}/export?format=json");
        Assert.Equal($"attachment; filename=\"{id}.json\"", json.Content.Headers.ContentDisposition!.ToString());
        var document = JsonNode.Parse(await json.Content.ReadAsStringAsync())!;
        Assert.Equal(["How do I return it?", "Within 30 days."], document["messages"]!.AsArray().Select(m => m!["content"]!.GetValue<string>()));

        using var markdown = await Admin.GetAsync($"v1/conversations/{id}/export?format=markdown");
        Assert.Equal("text/markdown", markdown.Content.Headers.ContentType!.MediaType);
        var md = await markdown.Content.ReadAsStringAsync();
        Assert.StartsWith("# Returns", md, StringComparison.Ordinal);
        Assert.Contains("## User\n\nHow do I return it?", md.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("## Assistant\n\nWithin 30 days.", md.ReplaceLineEndings("\n"), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.BadRequest, (await Admin.GetAsync($"v1/conversations/{id}/export?format=pdf")).StatusCode);
    }

    [Fact]
    public async Task Deleting_a_conversation_removes_it_from_the_database_file()
    {
        const string Secret = "zebra-marker-7f3a9c my private question";
        var (_, created) = await Admin.PostJsonAsync("v1/conversations",
            $$"""{"model": "stories-chat", "title": "To forget", "messages": [{"role": "user", "content": "{{Secret}}"}]}""");
        var id = created["id"]!.GetValue<string>();
        Assert.Equal(1, Rows("SELECT COUNT(*) FROM conversation_messages WHERE conversation_id = $id", id));

        using (var delete = await Admin.DeleteAsync($"v1/conversations/{id}")) Assert.Equal(HttpStatusCode.OK, delete.StatusCode);

        Assert.Equal(0, Rows("SELECT COUNT(*) FROM conversations WHERE id = $id", id));
        Assert.Equal(0, Rows("SELECT COUNT(*) FROM conversation_messages WHERE conversation_id = $id", id));
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetJsonAsync($"v1/conversations/{id}")).Status);
        // Not only unlinked: the text is overwritten in the database file and its write-ahead log.
        foreach (var file in new[] { _server.Host.Paths.Database, _server.Host.Paths.Database + "-wal" }.Where(File.Exists))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.True(copy.ToArray().AsSpan().IndexOf("zebra-marker-7f3a9c"u8) < 0, $"{Path.GetFileName(file)} still holds the deleted text");
        }
        using (var again = await Admin.DeleteAsync($"v1/conversations/{id}")) Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task Another_key_cannot_see_continue_or_delete_my_conversation()
    {
        var id = await CreateAsync(AppsServer.ChatModel, "Mine");
        var (_, key) = await _server.Host.CreateKeyAsync("someone-else");
        var other = _server.Host.Client(key);

        Assert.Equal(HttpStatusCode.NotFound, (await other.GetJsonAsync($"v1/conversations/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostJsonAsync($"v1/conversations/{id}/messages", """{"content": "hi"}""")).Status);
        using (var delete = await other.DeleteAsync($"v1/conversations/{id}")) Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
        Assert.Empty((await other.GetJsonAsync("v1/conversations")).Body["data"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, (await Admin.GetJsonAsync($"v1/conversations/{id}")).Status);
    }
}
