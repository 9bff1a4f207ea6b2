using Sovereign.Models.Gguf;

namespace Sovereign.Models.Tests.Gguf;

public sealed class LlamaCppCompatibilityTests
{
    [Fact]
    public void Real_and_synthetic_models_pass()
    {
        LlamaCppCompatibility.Check(GgufReader.Read(TestFiles.Stories260K));
        using var stream = new MemoryStream();
        SyntheticLlamaModel.Write(stream, new SyntheticLlamaOptions { TensorType = GgmlType.Q8_0 });
        LlamaCppCompatibility.Check(RawGguf.Read(stream.ToArray()));
    }

    [Fact]
    public void Arrays_of_arrays_are_valid_gguf_that_llama_cpp_refuses()
    {
        var file = RawGguf.Read(GgufWriterTests.SmallFileWithEveryValueType());
        var e = Assert.Throws<GgufFormatException>(() => LlamaCppCompatibility.Check(file));
        Assert.Contains("metadata key 'test.nested' is an array of arrays, which llama.cpp cannot load", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gaps_between_tensors_are_valid_gguf_that_llama_cpp_refuses()
    {
        var file = RawGguf.Start(2, 0).Tensor("a", GgmlType.F32, 0, 8).Tensor("b", GgmlType.F32, 64, 8).AlignTo(32).Zeros(96).Parse();
        var e = Assert.Throws<GgufFormatException>(() => LlamaCppCompatibility.Check(file));
        Assert.Contains("tensor 'b' data is at offset 64, but llama.cpp needs tensors packed in header order, which puts it at 32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tensors_out_of_header_order_are_refused()
    {
        var file = RawGguf.Start(2, 0).Tensor("b", GgmlType.F32, 32, 8).Tensor("a", GgmlType.F32, 0, 8).AlignTo(32).Zeros(64).Parse();
        Assert.Throws<GgufFormatException>(() => LlamaCppCompatibility.Check(file));
    }
}
