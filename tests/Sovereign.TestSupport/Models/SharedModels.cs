namespace Sovereign.TestSupport.Models;

/// <summary>
/// The real model files in <c>../shared/models</c> beside the repository (see that folder's README). Tests read them in
/// place and never copy them into the project.
/// </summary>
public static class SharedModels
{
    /// <summary>The folder that holds <c>Sovereign.slnx</c>, found upwards from the test's output folder.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The tiny real llama model (260K parameters, chat-capable with an override template).</summary>
    public static string Stories260K => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "models", "stories260K.gguf"));

    /// <summary><see cref="Stories260K"/>, failing with the path it looked at when the file is not there.</summary>
    public static string RequireStories260K() =>
        File.Exists(Stories260K) ? Stories260K : throw new FileNotFoundException("The test model is missing.", Stories260K);

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sovereign.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No Sovereign.slnx above {AppContext.BaseDirectory}.");
    }
}
