namespace Sovereign.Inference.Engine;

/// <summary>
/// A request's output that may hold text back for a moment to send it together with what follows (the runner's
/// generation socket does, for models that make tokens faster than a send is worth). The engine loop flushes it before
/// a step that may take long, so held text never waits for one.
/// </summary>
internal interface IHeldOutput
{
    /// <summary>Sends whatever is held; called on the engine loop's thread.</summary>
    void FlushHeld();
}
