using Sovereign.Core.Errors;
using Sovereign.Models.Store;

namespace Sovereign.Models.Tests.Store;

public sealed class ModelNameTests
{
    [Theory]
    [InlineData("llama3", "llama3", "latest")]
    [InlineData("Llama3:8B-Q4", "llama3", "8b-q4")]
    [InlineData("org/team/model.v2:q8_0", "org/team/model.v2", "q8_0")]
    public void Valid_references_parse_to_lower_case_name_and_tag(string reference, string name, string tag)
    {
        var parsed = ModelName.Parse(reference);
        Assert.Equal(new ModelName(name, tag), parsed);
        Assert.Equal($"{name}:{tag}", parsed.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("../etc/passwd")]
    [InlineData("a/../b")]
    [InlineData("/abs")]
    [InlineData("a//b")]
    [InlineData(".hidden")]
    [InlineData("a:")]
    [InlineData("a:.x")]
    [InlineData("a b")]
    [InlineData("a\\b")]
    [InlineData("name\n")] // '$' matched before a final newline; the patterns now end at \z
    [InlineData("name:tag\n")]
    public void Invalid_references_are_a_400_saying_what_is_allowed(string reference)
    {
        Assert.False(ModelName.TryParse(reference, out _));
        var e = Assert.Throws<SovereignException>(() => ModelName.Parse(reference));
        Assert.Equal(400, e.HttpStatus);
        Assert.Equal("invalid_model_name", e.Code);
        Assert.Contains("name[:tag]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void References_longer_than_128_characters_are_refused() =>
        Assert.False(ModelName.TryParse(new string('a', 129), out _));

    [Theory]
    [InlineData("/models/Llama-3.2-1B-Instruct.Q8_0.gguf", "llama-3.2-1b-instruct.q8_0")]
    [InlineData("stories260K.gguf", "stories260k")]
    [InlineData("My Model (final) v2.gguf", "my-model-final-v2")]
    [InlineData("weird:name.gguf", "weird-name")]
    [InlineData("..dots...gguf", "dots")]
    [InlineData("___.gguf", "model")]
    [InlineData("模型.gguf", "model")]
    public void Default_names_come_from_the_file_name_sanitised(string path, string expected)
    {
        var name = ModelName.FromFileName(path);
        Assert.Equal(expected, name.Name);
        Assert.Equal("latest", name.Tag);
        Assert.True(ModelName.TryParse(name.ToString(), out _));
    }

    [Fact]
    public void Default_names_are_cut_to_a_valid_length() =>
        Assert.Equal(128, ModelName.FromFileName(new string('x', 300) + ".gguf").Name.Length);
}
