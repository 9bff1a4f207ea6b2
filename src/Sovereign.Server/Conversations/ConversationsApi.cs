using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sovereign.Apps.Conversations;
using Sovereign.Apps.Definitions;
using Sovereign.Core.Errors;
using Sovereign.Server.Apps;
using Sovereign.Server.Auth;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Conversations;

/// <summary>
/// Kept chats, each the caller's own (its API key, within its tenant); someone else's conversation is 404.
/// <list type="bullet">
/// <item><c>POST /v1/conversations</c> <c>{"model": "app:… or a model", "title"?, "messages"?}</c>: keeps a new one.</item>
/// <item><c>GET /v1/conversations?q=…&amp;limit=…</c>: the caller's conversations, newest first; <c>q</c> searches titles and messages.</item>
/// <item><c>GET /v1/conversations/{id}</c> (with messages); <c>PATCH</c> <c>{"title"}</c>; <c>DELETE</c>: gone from the database.</item>
/// <item><c>POST /v1/conversations/{id}/messages</c> <c>{"content": …, "stream"?, sampling fields?}</c>: continues it through
/// <c>/v1/chat/completions</c> (same answer, same wire format) and keeps the question and the answer.</item>
/// <item><c>GET /v1/conversations/{id}/export?format=json|markdown</c>: a file to keep.</item>
/// </list>
/// </summary>
internal static class ConversationsApi
{
    public const int MaxTitleLength = 200;
    public const int DefaultListLimit = 50;
    public const int MaxListLimit = 500;
    private static readonly string[] Roles = ["system", "user", "assistant", "tool"];

    public static IEndpointRouteBuilder MapConversationsApi(this IEndpointRouteBuilder app)
    {
        var conversations = app.MapGroup("/v1/conversations");
        conversations.MapPost("", CreateAsync).WithName("CreateConversation");
        conversations.MapGet("", ListAsync).WithName("ListConversations");
        conversations.MapGet("/{id}", GetAsync).WithName("GetConversation");
        conversations.MapMethods("/{id}", ["PATCH"], RenameAsync).WithName("RenameConversation");
        conversations.MapDelete("/{id}", DeleteAsync).WithName("DeleteConversation");
        conversations.MapPost("/{id}/messages", ContinueAsync).WithName("ContinueConversation");
        conversations.MapGet("/{id}/export", ExportAsync).WithName("ExportConversation");
        return app;
    }

    private static string Owner(HttpContext context) => context.GetRequiredApiPrincipal().KeyId;

    private static async Task<IResult> CreateAsync(HttpContext context, IConversationStore store)
    {
        var body = await ReadObjectAsync(context.Request);
        var problems = new RequestProblems();
        var model = body["model"] is JsonValue m && m.TryGetValue<string>(out var ms) && !string.IsNullOrWhiteSpace(ms) ? ms.Trim() : null;
        if (model is null) problems.Missing("model");
        var title = Title(body, problems);
        var messages = new List<NewConversationMessage>();
        if (body["messages"] is { } given)
        {
            if (given is not JsonArray array) problems.Add("messages", "'messages' must be an array of {role, content} objects.", "invalid_type");
            else
            {
                for (var i = 0; i < array.Count; i++)
                {
                    var role = array[i]?["role"] is JsonValue r && r.TryGetValue<string>(out var rs) ? rs : null;
                    var content = array[i]?["content"] is JsonValue c && c.TryGetValue<string>(out var cs) ? cs : null;
                    if (role is null || !Roles.Contains(role)) problems.Add($"messages[{i}].role", $"messages[{i}].role must be one of {string.Join(", ", Roles)}.", "invalid_value");
                    else if (content is null) problems.Missing($"messages[{i}].content");
                    else messages.Add(new NewConversationMessage(role, content));
                }
            }
        }
        problems.ThrowIfAny();
        title ??= TitleFrom(messages.FirstOrDefault(x => x.Role == "user")?.Content) ?? "New conversation";
        var created = await store.CreateAsync(Owner(context), model!, title, messages, context.RequestAborted);
        return AppJson.Ok(ConversationJson(created, withMessages: true), StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpContext context, IConversationStore store, string? q, int? limit)
    {
        if (limit is < 1 or > MaxListLimit) throw SovereignException.Invalid($"limit must be between 1 and {MaxListLimit}, got {limit}.", "limit", "invalid_value");
        var list = await store.ListAsync(Owner(context), q, limit ?? DefaultListLimit, context.RequestAborted);
        var data = new JsonArray();
        foreach (var c in list) data.Add(ConversationJson(c, withMessages: false));
        return AppJson.Ok(new JsonObject { ["object"] = "list", ["data"] = data });
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, IConversationStore store) =>
        AppJson.Ok(ConversationJson(await FindAsync(store, context, id), withMessages: true));

    private static async Task<IResult> RenameAsync(string id, HttpContext context, IConversationStore store)
    {
        var body = await ReadObjectAsync(context.Request);
        var problems = new RequestProblems();
        var title = Title(body, problems);
        if (title is null && !problems.Any) problems.Missing("title");
        problems.ThrowIfAny();
        var renamed = await store.RenameAsync(Owner(context), id, title!, context.RequestAborted) ?? throw NotFound(id);
        return AppJson.Ok(ConversationJson(renamed, withMessages: false));
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext context, IConversationStore store)
    {
        if (!await store.DeleteAsync(Owner(context), id, context.RequestAborted)) throw NotFound(id);
        return AppJson.Ok(new JsonObject { ["id"] = id, ["object"] = "conversation.deleted", ["deleted"] = true });
    }

    private static async Task<IResult> ExportAsync(string id, string? format, HttpContext context, IConversationStore store)
    {
        var conversation = await FindAsync(store, context, id);
        var fileName = $"{id}.{(format is "markdown" or "md" ? "md" : "json")}";
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        return format switch
        {
            null or "json" => Results.Text(ConversationExport.ToJson(conversation).ToJsonString(new JsonSerializerOptions(AppDefinition.Json) { WriteIndented = true }),
                "application/json", Encoding.UTF8),
            "markdown" or "md" => Results.Text(ConversationExport.ToMarkdown(conversation), "text/markdown", Encoding.UTF8),
            _ => throw SovereignException.Invalid($"Unknown export format '{format}'; use json or markdown.", "format", "invalid_value"),
        };
    }

    /// <summary>
    /// Continues a conversation.
    /// <list type="number">
    /// <item>Check the new message; find the conversation (404 when it is not the caller's).</item>
    /// <item>Build a chat completions request: the conversation's model, its messages, the new one, and the request's
    /// other fields (stream, sampling) as they are.</item>
    /// <item>Answer it with the chat completions handler itself, copying what it writes as it goes to the client.</item>
    /// <item>When the answer completed, keep the question and the answer (a failed answer keeps neither).</item>
    /// </list>
    /// </summary>
    private static async Task ContinueAsync(string id, HttpContext context, IConversationStore store, ChatCompletionsHandler chat)
    {
        // :: Step 1
        var body = await ReadObjectAsync(context.Request);
        var content = body["content"] is JsonValue c && c.TryGetValue<string>(out var cs) && cs.Length > 0 ? cs : null;
        if (content is null)
            throw SovereignException.Invalid("Missing required parameter: 'content' (the next user message, as text).", "content", "missing_required_parameter");
        foreach (var field in new[] { "model", "messages" })
        {
            if (body.ContainsKey(field))
                throw SovereignException.Invalid($"'{field}' cannot be sent when continuing a conversation: the conversation's own are used.", field, "unsupported_parameter");
        }
        var owner = Owner(context);
        var conversation = await FindAsync(store, context, id);

        // :: Step 2
        var messages = new JsonArray();
        foreach (var m in conversation.Messages) messages.Add(new JsonObject { ["role"] = m.Role, ["content"] = m.Content });
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = content });
        body.Remove("content");
        body["model"] = conversation.Model;
        body["messages"] = messages;
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body.ToJsonString()));
        context.Request.ContentLength = context.Request.Body.Length;
        context.Response.Headers["X-Conversation-Id"] = conversation.Id;

        // :: Step 3
        var original = context.Response.Body;
        await using var tee = new TeeStream(original);
        context.Response.Body = tee;
        try
        {
            await chat.HandleAsync(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        // :: Step 4
        var answer = ChatAnswer.Read(tee.Copy, context.Response.ContentType);
        if (context.Response.StatusCode == StatusCodes.Status200OK && answer is not null)
        {
            await store.AppendAsync(owner, conversation.Id,
                [new NewConversationMessage("user", content), new NewConversationMessage("assistant", answer.Text, answer.Citations)], CancellationToken.None);
        }
    }

    private static async Task<Conversation> FindAsync(IConversationStore store, HttpContext context, string id) =>
        await store.GetAsync(Owner(context), id, context.RequestAborted) ?? throw NotFound(id);

    private static SovereignException NotFound(string id) =>
        SovereignException.NotFound($"No conversation with id '{id}'. See GET /v1/conversations for yours.", "id", "conversation_not_found");

    private static string? Title(JsonObject body, RequestProblems problems)
    {
        if (body["title"] is not { } node) return null;
        if (node is not JsonValue v || !v.TryGetValue<string>(out var title) || string.IsNullOrWhiteSpace(title))
        {
            problems.Add("title", "'title' must be a non-empty string.", "invalid_type");
            return null;
        }
        title = title.Trim();
        if (title.Length > MaxTitleLength) problems.Add("title", $"title must be at most {MaxTitleLength} characters, got {title.Length}.", "invalid_value");
        return title;
    }

    private static string? TitleFrom(string? firstQuestion)
    {
        if (string.IsNullOrWhiteSpace(firstQuestion)) return null;
        var line = firstQuestion.ReplaceLineEndings(" ").Trim();
        return line.Length <= 80 ? line : line[..77] + "…";
    }

    internal static JsonObject ConversationJson(Conversation c, bool withMessages)
    {
        var json = new JsonObject
        {
            ["id"] = c.Id,
            ["object"] = "conversation",
            ["title"] = c.Title,
            ["model"] = c.Model,
            ["message_count"] = c.MessageCount,
            ["created_at"] = c.CreatedAt.ToUnixTimeSeconds(),
            ["updated_at"] = c.UpdatedAt.ToUnixTimeSeconds(),
        };
        if (withMessages) json["messages"] = ConversationExport.ToJson(c)["messages"]!.DeepClone();
        return json;
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpRequest request)
    {
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            throw JsonBody.Describe(e);
        }
        return node as JsonObject ?? throw SovereignException.Invalid("The request body must be a JSON object.", code: "invalid_json");
    }
}
