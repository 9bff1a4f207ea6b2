using Sovereign.TestSupport.Models;

namespace Sovereign.Server.Tests.EndToEnd;

/// <summary>The shared real model files (../shared/models beside the repository), as this project's tests name them.</summary>
internal static class TestModels
{
    public static string RepoRoot => SharedModels.RepositoryRoot;

    /// <summary>The real tiny Llama model from ../shared/models (see its README).</summary>
    public static string Stories260K => SharedModels.Stories260K;
}
