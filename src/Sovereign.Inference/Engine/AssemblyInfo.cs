using System.Runtime.CompilerServices;

// The pure engine parts (scheduler, stop strings, UTF-8 assembly) are internal; their tests live next door.
[assembly: InternalsVisibleTo("Sovereign.Inference.Tests")]
