using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Inference.Engine;
using Sovereign.Models.Gguf;
using static Sovereign.Inference.Tests.Streams;

namespace Sovereign.Inference.Tests.Engine;

/// <summary>
/// Images in chat through a vision projector: the real stories260K with a synthetic LLaVA-style projector (random
/// weights in llama.cpp's CLIP layout, 32×32 images in 8×8 patches, so 16 image tokens, as wide as the model's 64).
/// The model cannot see; what is checked is that the image reaches it as image tokens and changes what it writes.
/// </summary>
[Collection(RealModelCollection.Name)]
public sealed class VisionTests : IDisposable
{
    private const int ImageTokens = 16;
    private readonly string _folder = Directory.CreateTempSubdirectory("sov-vision-").FullName;

    private string Projector(int textEmbedding = 64)
    {
        var path = Path.Combine(_folder, $"mmproj-{textEmbedding}.gguf");
        if (!File.Exists(path)) SyntheticVisionProjector.Write(path, new SyntheticVisionOptions { TextEmbeddingLength = textEmbedding });
        return path;
    }

    private LlamaEngine LoadWithProjector() => TestModel.Load(s =>
    {
        s.ChatTemplateOverride = "chatml";
        s.ProjectorPath = Projector();
    });

    private static GenerationRequest Chat(string content, params byte[][] images) => new()
    {
        Id = "vision",
        Model = "stories260K",
        Messages = [new ChatMessage("user", content) { Images = images.Length == 0 ? null : [.. images.Select(i => (ReadOnlyMemory<byte>)i)] }],
        MaxTokens = 12,
        IgnoreEos = true,
        Sampling = SamplingParameters.Greedy,
    };

    /// <summary>A 24-bit BMP (which llama.cpp's image reader decodes) of stripes whose angle depends on <paramref name="seed"/>.</summary>
    private static byte[] Bitmap(int seed, int width = 40, int height = 40)
    {
        var stride = (width * 3 + 3) & ~3;
        var data = new byte[54 + stride * height];
        "BM"u8.CopyTo(data);
        BitConverter.TryWriteBytes(data.AsSpan(2), data.Length);
        BitConverter.TryWriteBytes(data.AsSpan(10), 54);
        BitConverter.TryWriteBytes(data.AsSpan(14), 40);
        BitConverter.TryWriteBytes(data.AsSpan(18), width);
        BitConverter.TryWriteBytes(data.AsSpan(22), height);
        BitConverter.TryWriteBytes(data.AsSpan(26), (short)1);
        BitConverter.TryWriteBytes(data.AsSpan(28), (short)24);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var on = (x * seed + y * (seed + 3)) / 7 % 2 == 0;
                var at = 54 + y * stride + x * 3;
                data[at] = (byte)(on ? 250 : 10);
                data[at + 1] = (byte)(on ? 40 * seed % 256 : 200);
                data[at + 2] = (byte)(on ? 30 : 255 - seed * 20 % 256);
            }
        }
        return data;
    }

    [Fact]
    public async Task An_image_in_a_chat_message_reaches_the_model_as_the_projectors_image_tokens()
    {
        using var engine = LoadWithProjector();
        Assert.True(engine.HasVision);

        var withImage = await RunAsync(engine, Chat($"What is in the picture {ChatMessage.ImagePlaceholder} here?", Bitmap(1)));
        var withTwo = await RunAsync(engine, Chat($"What is in the picture {ChatMessage.ImagePlaceholder} here?{ChatMessage.ImagePlaceholder}", Bitmap(1), Bitmap(2)));
        var without = await RunAsync(engine, Chat("What is in the picture  here?"));

        // The same text with one image more costs exactly the projector's tokens for it.
        Assert.Equal(ImageTokens, withTwo.Finished.Usage.PromptTokens - withImage.Finished.Usage.PromptTokens);
        Assert.True(withImage.Finished.Usage.PromptTokens >= without.Finished.Usage.PromptTokens + ImageTokens);
        Assert.Equal(12, withImage.Finished.Usage.CompletionTokens);
        Assert.NotEqual(without.Text, withImage.Text);
    }

    [Fact]
    public async Task Different_images_lead_to_different_continuations_and_the_same_image_to_the_same()
    {
        using var engine = LoadWithProjector();

        var first = await RunAsync(engine, Chat($"{ChatMessage.ImagePlaceholder} Once upon a time", Bitmap(1)));
        var again = await RunAsync(engine, Chat($"{ChatMessage.ImagePlaceholder} Once upon a time", Bitmap(1)));
        var other = await RunAsync(engine, Chat($"{ChatMessage.ImagePlaceholder} Once upon a time", Bitmap(5)));

        Assert.Equal(first.Text, again.Text);
        Assert.NotEqual(first.Text, other.Text);
    }

    [Fact]
    public async Task Requests_with_and_without_images_run_side_by_side()
    {
        using var engine = LoadWithProjector();

        var runs = await Task.WhenAll(
            RunAsync(engine, Chat($"{ChatMessage.ImagePlaceholder} and {ChatMessage.ImagePlaceholder}", Bitmap(2), Bitmap(3))),
            RunAsync(engine, Chat("Once upon a time")),
            RunAsync(engine, Chat($"Look: {ChatMessage.ImagePlaceholder}", Bitmap(4))));

        Assert.All(runs, r => Assert.Equal(12, r.Finished.Usage.CompletionTokens));
        var oneImage = await RunAsync(engine, Chat($"{ChatMessage.ImagePlaceholder} and ", Bitmap(2)));
        Assert.Equal(oneImage.Finished.Usage.PromptTokens + ImageTokens, runs[0].Finished.Usage.PromptTokens);
        Assert.Equal(oneImage.Text, (await RunAsync(engine, Chat($"{ChatMessage.ImagePlaceholder} and ", Bitmap(2)))).Text);
        // Alone, each gives what it gave beside the others.
        Assert.Equal(runs[2].Text, (await RunAsync(engine, Chat($"Look: {ChatMessage.ImagePlaceholder}", Bitmap(4)))).Text);
    }

    [Fact]
    public void Bad_images_are_refused_before_anything_is_queued()
    {
        using var engine = LoadWithProjector();

        var notAnImage = Assert.Throws<SovereignException>(() => engine.Submit(Chat($"{ChatMessage.ImagePlaceholder}", "not an image"u8.ToArray()), CancellationToken.None));
        Assert.Equal((ErrorKind.InvalidRequest, "invalid_image"), (notAnImage.Kind, notAnImage.Code));

        var mismatch = Assert.Throws<SovereignException>(() => engine.Submit(Chat($"{ChatMessage.ImagePlaceholder}{ChatMessage.ImagePlaceholder}", Bitmap(1)), CancellationToken.None));
        Assert.Equal((ErrorKind.InvalidRequest, "invalid_images"), (mismatch.Kind, mismatch.Code));
        Assert.Equal(0, engine.Stats.Active + engine.Stats.Queued);
    }

    [Fact]
    public void A_model_without_a_projector_refuses_images_and_a_projector_of_the_wrong_width_is_refused_at_load()
    {
        using (var plain = TestModel.Load(s => s.ChatTemplateOverride = "chatml"))
        {
            Assert.False(plain.HasVision);
            var e = Assert.Throws<SovereignException>(() => plain.Submit(Chat($"{ChatMessage.ImagePlaceholder}", Bitmap(1)), CancellationToken.None));
            Assert.Equal((ErrorKind.InvalidRequest, "images_not_supported"), (e.Kind, e.Code));
        }

        var wrong = Assert.Throws<SovereignException>(() => TestModel.Load(s => s.ProjectorPath = Projector(textEmbedding: 32)));
        Assert.Equal("model_load_failed", wrong.Code);
        Assert.Contains("projector", wrong.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
