namespace Sovereign.Models.Tests;

/// <summary>Where the shared model files are, and throwaway folders for tests.</summary>
internal static class TestFiles
{
    public const string Stories260KSha256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";

    /// <summary>../shared/models/stories260K.gguf relative to the repository root (the folder holding Sovereign.slnx).</summary>
    public static string Stories260K => Path.Combine(RepositoryRoot, "..", "shared", "models", "stories260K.gguf");

    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sovereign.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No Sovereign.slnx above {AppContext.BaseDirectory}.");
    }
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("sov-models-test-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
