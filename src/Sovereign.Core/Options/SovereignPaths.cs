namespace Sovereign.Core.Options;

/// <summary>Where things live under the data folder ($SOV_HOME). Immutable.</summary>
public sealed record SovereignPaths(string Home)
{
    public string Root { get; } = Path.GetFullPath(Home);
    public string Models => Path.Combine(Root, "models");
    public string Blobs => Path.Combine(Models, "blobs");
    public string Manifests => Path.Combine(Models, "manifests");
    public string Database => Path.Combine(Root, "sovereign.db");
    public string Runtime => Path.Combine(Root, "run");
    /// <summary>The generated admin key, readable only by its owner, so local CLI calls find it.</summary>
    public string AdminKeyFile => Path.Combine(Root, "admin.key");
}
