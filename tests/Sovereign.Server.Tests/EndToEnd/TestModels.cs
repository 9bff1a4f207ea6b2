namespace Sovereign.Server.Tests.EndToEnd;

/// <summary>Finds the shared real model files (../shared/models beside the repository).</summary>
internal static class TestModels
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The real tiny Llama model from ../shared/models (see its README).</summary>
    public static string Stories260K => Path.Combine(RepoRoot, "..", "shared", "models", "stories260K.gguf");

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sovereign.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Sovereign.slnx not found above " + AppContext.BaseDirectory);
    }
}
