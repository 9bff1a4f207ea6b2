using System.Reflection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;

namespace Sovereign.Web;

/// <summary>
/// The interface's files (styles, scripts, fonts, icons and Blazor's own script) as resources inside this assembly,
/// so they travel with the server and need no web root, static-asset manifest or publish step: whichever program
/// hosts the server (<c>sov serve</c>, tests) serves the same bytes. Thread-safe.
/// </summary>
internal sealed class EmbeddedAssets : IFileProvider
{
    private readonly Assembly _assembly;
    private readonly string _prefix;
    private readonly DateTimeOffset _built;
    private readonly HashSet<string> _names;

    public EmbeddedAssets(Assembly assembly, string prefix)
    {
        _assembly = assembly;
        _prefix = prefix;
        _names = [.. assembly.GetManifestResourceNames()];
        _built = File.Exists(assembly.Location) ? File.GetLastWriteTimeUtc(assembly.Location) : DateTimeOffset.UtcNow;
    }

    public IFileInfo GetFileInfo(string subpath)
    {
        var name = _prefix + subpath.TrimStart('/');
        return _names.Contains(name) ? new Resource(_assembly, name, _built) : new NotFoundFileInfo(subpath);
    }

    public IDirectoryContents GetDirectoryContents(string subpath) => NotFoundDirectoryContents.Singleton;

    public IChangeToken Watch(string filter) => NullChangeToken.Singleton;

    private sealed class Resource(Assembly assembly, string name, DateTimeOffset built) : IFileInfo
    {
        public bool Exists => true;
        public bool IsDirectory => false;
        public DateTimeOffset LastModified => built;
        public string Name => Path.GetFileName(name);
        public string? PhysicalPath => null;

        public long Length
        {
            get
            {
                using var stream = CreateReadStream();
                return stream.Length;
            }
        }

        public Stream CreateReadStream() =>
            assembly.GetManifestResourceStream(name) ?? throw new FileNotFoundException($"Embedded asset '{name}' is missing.");
    }
}
