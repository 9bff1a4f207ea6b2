namespace Sovereign.Web.Access;

/// <summary>What the health page shows about the host that only the server knows. Thread-safe.</summary>
public interface IServerFacts
{
    string Version { get; }

    /// <summary>The memory budget that loaded models are kept within, in bytes.</summary>
    long MemoryBudgetBytes { get; }

    /// <summary>Whether pulling from a mirror is set up (Sovereign:Mirrors).</summary>
    bool HasMirrors { get; }
}
