using Sovereign.Core.Errors;
using Sovereign.Inference.Engine;

namespace Sovereign.Inference.Tests.Engine;

public class EngineSettingsTests
{
    [Fact]
    public void Defaults_are_valid_apart_from_the_model_path()
    {
        var errors = new EngineSettings().Validate();

        Assert.Equal(["ModelPath is required."], errors);
    }

    [Fact]
    public void Every_invalid_setting_is_reported_with_its_value()
    {
        var errors = new EngineSettings { ModelPath = "m.gguf", Slots = 0, ContextSize = 1, QueueLimit = -1, PrefillChunk = 0, Threads = -2, GpuLayers = -1 }.Validate();

        Assert.Equal(6, errors.Count);
        Assert.Contains(errors, e => e.Contains("Slots") && e.Contains("got 0"));
        Assert.Contains(errors, e => e.Contains("Threads") && e.Contains("got -2"));
    }

    [Fact]
    public void Loading_with_invalid_settings_fails_before_touching_llama_cpp()
    {
        var e = Assert.Throws<SovereignException>(() => LlamaEngine.Load(new EngineSettings { ModelPath = "", Slots = 0 }));

        Assert.Equal(ErrorKind.InvalidRequest, e.Kind);
        Assert.Contains("Slots", e.Message);
    }

    [Fact]
    public void Loading_a_missing_file_is_not_found()
    {
        var e = Assert.Throws<SovereignException>(() => LlamaEngine.Load(new EngineSettings { ModelPath = "/nonexistent/model.gguf" }));

        Assert.Equal(ErrorKind.NotFound, e.Kind);
    }
}
