namespace Sovereign.Knowledge.Tests.Extraction;

/// <summary>A scratch folder per test class, removed with it.</summary>
public sealed class TempFiles : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("sov-extract-").FullName;

    public string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public string Write(string name, string text) => Write(name, System.Text.Encoding.UTF8.GetBytes(text));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A scratch folder left behind in /tmp harms nothing.
        }
    }
}
