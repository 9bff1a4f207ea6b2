using Sovereign.Apps.Conversations;

namespace Sovereign.Apps.Tests.Conversations;

public sealed class ConversationExportTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 27, 10, 30, 0, TimeSpan.Zero);

    private static Conversation Sample() => new("conv_1", "key_1", "app:customer-support", "Returns", At, At.AddMinutes(5), 2,
    [
        new ConversationMessage(0, "user", "How do I return a kettle?", null, At),
        new ConversationMessage(1, "assistant", "Bring it back within 30 days [1].", """[{"document_name":"Returns policy.pdf","page":2}]""", At),
    ]);

    [Fact]
    public void Markdown_export_has_the_title_model_messages_and_sources()
    {
        var md = ConversationExport.ToMarkdown(Sample());
        Assert.StartsWith("# Returns\n", md.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("- Model: `app:customer-support`", md, StringComparison.Ordinal);
        Assert.Contains("## User", md, StringComparison.Ordinal);
        Assert.Contains("## Assistant", md, StringComparison.Ordinal);
        Assert.Contains("1. Returns policy.pdf, page 2", md, StringComparison.Ordinal);
        Assert.True(md.IndexOf("How do I return", StringComparison.Ordinal) < md.IndexOf("Bring it back", StringComparison.Ordinal));
    }

    [Fact]
    public void Json_export_keeps_every_message_with_its_citations()
    {
        var json = ConversationExport.ToJson(Sample());
        Assert.Equal("conversation", json["object"]!.GetValue<string>());
        Assert.Equal(2, json["messages"]!.AsArray().Count);
        Assert.Equal("Returns policy.pdf", json["messages"]![1]!["citations"]![0]!["document_name"]!.GetValue<string>());
    }
}
