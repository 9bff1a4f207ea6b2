using System.ComponentModel.DataAnnotations;

namespace Sovereign.Core.Options;

/// <summary>
/// Settings of one Sovereign node, bound from the "Sovereign" configuration section and from SOV_* environment
/// variables (SOV_HOME → Home, SOV_ADMIN_KEY → AdminKey). Validated at start-up; every error names the setting.
/// </summary>
public sealed class SovereignOptions
{
    public const string Section = "Sovereign";

    /// <summary>Data folder (models, database, uploads). Default: <c>./data</c>. Env: SOV_HOME.</summary>
    [Required]
    public string Home { get; set; } = "data";

    /// <summary>An admin API key given by configuration (SOV_ADMIN_KEY); when set, none is generated. At least 16 characters.</summary>
    [MinLength(16)]
    public string? AdminKey { get; set; }

    /// <summary>
    /// A PostgreSQL connection string (<c>Host=db;Database=sovereign;Username=sov;Password=…</c>) for the state that the
    /// nodes of a cluster share: tenants, users, keys, quotas, usage and audit. Default: none, and that state stays in
    /// the node's SQLite database. Env: SOV_DATABASE.
    /// </summary>
    public string? Database { get; set; }

    public EngineOptions Engine { get; set; } = new();

    public LimitsOptions Limits { get; set; } = new();

    /// <summary>Hosts that outbound HTTP may reach (model mirrors, tool hosts). Default: none.</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>
    /// Base URLs of the model mirrors that <c>sov models pull</c> and <c>/api/pull</c> fetch from, tried in order: another
    /// Sovereign node (<c>http://node-a:8080</c>) or a registry speaking the OCI distribution API as Ollama's does. Their
    /// hosts are allowed for the pull without being listed in <see cref="AllowedHosts"/>. Default: none. Env: SOV_MIRRORS
    /// (comma-separated); a comma-separated value of Sovereign:Mirrors is split the same way.
    /// </summary>
    public List<string> Mirrors { get; set; } = [];

    /// <summary>Sent to the mirrors as <c>Authorization: Bearer …</c> (a key with the mirror scope on a Sovereign mirror). Default: none. Env: SOV_MIRROR_KEY.</summary>
    public string? MirrorKey { get; set; }

    /// <summary>
    /// Whether this node serves its store read-only to other nodes at <c>/v2/…</c> (the OCI distribution API), to keys with
    /// the mirror scope (the admin key has every scope). Default: true.
    /// </summary>
    public bool ServeMirror { get; set; } = true;
}

/// <summary>How each runner process runs its model.</summary>
public sealed class EngineOptions
{
    /// <summary>Concurrent sequences per model (continuous-batching slots). Default 8.</summary>
    [Range(1, 256)]
    public int Slots { get; set; } = 8;

    /// <summary>Context tokens per slot. Default 2048 (capped by the model's own training context).</summary>
    [Range(64, 1_048_576)]
    public int ContextSize { get; set; } = 2048;

    /// <summary>Requests that may wait for a slot; beyond it the API answers 429. Default 64.</summary>
    [Range(0, 100_000)]
    public int QueueLimit { get; set; } = 64;

    /// <summary>Most prompt tokens prefilled in one engine step, so long prompts do not stall running streams. Default 256.</summary>
    [Range(16, 65_536)]
    public int PrefillChunk { get; set; } = 256;

    /// <summary>
    /// About how long a step that prefills may take while other streams generate (the longest pause a long prompt puts
    /// into their output); the engine prefills fewer tokens per step to keep to it, at a cost in prefill speed on CPUs
    /// (see the engine's setting). Default 00:00:00: always PrefillChunk.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan PrefillStallTarget { get; set; }

    /// <summary>CPU threads for decoding; 0 = the number of cores. Default 0.</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>Layers offloaded to a GPU when a GPU backend is present. Default 0 (CPU).</summary>
    [Range(0, 1000)]
    public int GpuLayers { get; set; }

    /// <summary>Flash attention; off by default because on CPU it slows decoding.</summary>
    public bool FlashAttention { get; set; }

    /// <summary>
    /// Memory that loaded models may use together, in bytes (weights + KV cache + buffers, as estimated from each
    /// model's header). 0 = 75% of the machine's physical memory. Least-recently-used idle models are unloaded
    /// to make room; a model that cannot fit is refused with a clear error.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long MemoryBudget { get; set; }

    /// <summary>How long an idle runner stays loaded (Ollama's keep_alive default). Negative = until evicted. Default 5 minutes.</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The command that starts a runner process (`sov` in runner mode). Default: the `sov` built beside the server.</summary>
    public string? RunnerCommand { get; set; }

    /// <summary>How long to wait for a runner to start and load its model. Default 120 s.</summary>
    public TimeSpan LoadTimeout { get; set; } = TimeSpan.FromSeconds(120);
}

/// <summary>Bounds on what one request may ask for, checked before anything is allocated.</summary>
public sealed class LimitsOptions
{
    /// <summary>Largest request body in bytes; larger → 413. Default 8 MiB.</summary>
    [Range(1024, 1L << 31)]
    public long MaxRequestBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Largest prompt (all messages together) in characters, checked before tokenising. Default 1,000,000.</summary>
    [Range(1, int.MaxValue)]
    public int MaxPromptChars { get; set; } = 1_000_000;

    /// <summary>Largest max_tokens a request may ask for. Default 32768.</summary>
    [Range(1, int.MaxValue)]
    public int MaxCompletionTokens { get; set; } = 32_768;

    /// <summary>Most stop strings per request. Default 16.</summary>
    [Range(0, 1024)]
    public int MaxStopStrings { get; set; } = 16;
}
