using LLama.Native;
using Sovereign.Inference.Engine;

namespace Sovereign.Agents.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealModelCollection
{
    public const string Name = "real model";
}

/// <summary>The tiny real model (stories260K) from ../shared/models, loaded in-process with the chatml template.</summary>
internal static class TestModel
{
    public static string Path { get; } = Find();

    static TestModel()
    {
        NativeLogConfig.llama_log_set((level, message) =>
        {
            if (level == LLamaLogLevel.Error)
                Console.Error.Write(message);
        });
    }

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Sovereign.slnx")))
            dir = dir.Parent;
        if (dir is null)
            throw new InvalidOperationException($"No Sovereign.slnx above {AppContext.BaseDirectory}.");
        var path = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared", "models", "stories260K.gguf"));
        return File.Exists(path) ? path : throw new FileNotFoundException("The test model is missing.", path);
    }

    public static LlamaEngine Load() =>
        LlamaEngine.Load(new EngineSettings { ModelPath = Path, Slots = 4, ContextSize = 2048, Threads = 1, ChatTemplateOverride = "chatml" });
}
