using LLama.Native;

namespace Sovereign.Inference.Hosting;

/// <summary>
/// Loads llama.cpp in the calling process to say which native build would run models here. Only for
/// `sov doctor`, which is a short-lived process of its own; the server never loads llama.cpp itself.
/// </summary>
public static class NativeBackendProbe
{
    /// <summary>The LLamaSharp package version, stamped at build time (its assembly version says 0.0.0).</summary>
    public static string LlamaSharpVersion { get; } =
        typeof(NativeBackendProbe).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "LLamaSharpVersion")?.Value ?? "?";

    public static string Describe()
    {
        try
        {
            return Engine.LlamaEngine.DescribeBackend();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or LLama.Exceptions.RuntimeError)
        {
            return $"llama.cpp could not be loaded: {e.Message}";
        }
    }
}
