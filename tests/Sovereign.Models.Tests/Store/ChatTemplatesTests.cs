using Sovereign.Core.Errors;
using Sovereign.Models.Store;

namespace Sovereign.Models.Tests.Store;

public sealed class ChatTemplatesTests
{
    [Fact]
    public void The_known_set_is_llama_cpps_built_in_names()
    {
        Assert.Equal(18, ChatTemplates.Known.Count);
        Assert.Contains("chatml", ChatTemplates.Known);
        Assert.Contains("command-r", ChatTemplates.Known);
        Assert.True(ChatTemplates.IsKnown(" Llama3 "));
        Assert.False(ChatTemplates.IsKnown("llama4"));
    }

    [Fact]
    public void Known_names_normalise_to_lower_case() => Assert.Equal("mistral", ChatTemplates.Normalize("Mistral"));

    [Fact]
    public void An_unknown_name_is_a_400_listing_the_known_ones()
    {
        var e = Assert.Throws<SovereignException>(() => ChatTemplates.Normalize("nonsense"));
        Assert.Equal(400, e.HttpStatus);
        Assert.Equal("unknown_chat_template", e.Code);
        Assert.Contains("'nonsense'", e.Message, StringComparison.Ordinal);
        Assert.Contains(string.Join(", ", ChatTemplates.KnownSorted), e.Message, StringComparison.Ordinal);
    }
}
