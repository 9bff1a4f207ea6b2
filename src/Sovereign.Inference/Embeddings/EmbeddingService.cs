using Microsoft.Extensions.Options;
using Sovereign.Core.Embeddings;
using Sovereign.Core.Errors;
using Sovereign.Inference.Hosting;

namespace Sovereign.Inference.Embeddings;

/// <summary>
/// Routes embedding requests by model name: the built-in model (<see cref="EmbeddingModels.MiniLm"/> and its aliases)
/// runs in this process; any other name is an imported GGUF model, embedded by its runner process through
/// <see cref="ModelManager"/>. Checks the request's limits before any model runs. Thread-safe; one instance per server.
/// </summary>
public sealed class EmbeddingService : IEmbeddingService
{
    private readonly EmbeddingOptions _options;
    private readonly MiniLmEmbedder _miniLm;
    private readonly ModelManager? _models;

    /// <param name="models">Runs imported GGUF models; without it only the built-in model is served.</param>
    public EmbeddingService(IOptions<EmbeddingOptions> options, ModelManager? models = null)
    {
        _options = options.Value;
        _miniLm = new MiniLmEmbedder(_options.BatchSize);
        _models = models;
    }

    public string DefaultModel => EmbeddingModels.MiniLm;

    public Task<EmbeddingBatch> EmbedAsync(string? model, IReadOnlyList<string> inputs, CancellationToken cancellationToken = default) =>
        EmbedAsync(model, inputs, truncate: false, cancellationToken);

    /// <summary>
    /// As <see cref="IEmbeddingService.EmbedAsync"/>; with <paramref name="truncate"/> an input longer than the model
    /// reads is cut to fit (Ollama's default) instead of refused with 400 <c>input_too_long</c> (OpenAI's behaviour).
    /// </summary>
    public Task<EmbeddingBatch> EmbedAsync(string? model, IReadOnlyList<string> inputs, bool truncate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var name = string.IsNullOrWhiteSpace(model) ? DefaultModel : model.Trim();
        var checkedInputs = CheckInputs(inputs, truncate);
        if (EmbeddingModels.IsMiniLm(name))
            return _miniLm.EmbedAsync(checkedInputs, truncate, cancellationToken);
        if (_models is null)
            throw NotFound(name);
        return EmbedWithGgufAsync(_models, name, checkedInputs, truncate, cancellationToken);
    }

    private static async Task<EmbeddingBatch> EmbedWithGgufAsync(ModelManager models, string name, IReadOnlyList<string> inputs, bool truncate, CancellationToken ct)
    {
        try
        {
            return await models.EmbedAsync(name, inputs, truncate, ct);
        }
        catch (SovereignException e) when (e.Kind == ErrorKind.NotFound && e.Code == "model_not_found")
        {
            throw NotFound(name);
        }
    }

    private static SovereignException NotFound(string name) => SovereignException.NotFound(
        $"The embedding model '{name}' does not exist. Use '{EmbeddingModels.MiniLm}' (built in) or import a GGUF embedding model with `sov models import FILE.gguf`.",
        "model", "model_not_found");

    private IReadOnlyList<string> CheckInputs(IReadOnlyList<string> inputs, bool truncate)
    {
        if (inputs.Count == 0)
            throw SovereignException.Invalid("input must not be empty: give a string or a non-empty array of strings.", "input", "empty_input");
        if (inputs.Count > _options.MaxInputs)
            throw SovereignException.Invalid($"input has {inputs.Count} items; at most {_options.MaxInputs} are allowed in one request.", "input", "too_many_inputs");

        string[]? cut = null;
        for (var i = 0; i < inputs.Count; i++)
        {
            var text = inputs[i];
            if (text is null)
                throw SovereignException.Invalid($"input[{i}] must be a string.", "input");
            if (text.Length == 0)
                throw SovereignException.Invalid($"input[{i}] is an empty string; every input needs some text.", "input", "empty_input");
            if (text.Length > _options.MaxInputCharacters)
            {
                if (!truncate)
                {
                    throw SovereignException.Invalid(
                        $"input[{i}] has {text.Length} characters; at most {_options.MaxInputCharacters} are allowed per input.", "input", "input_too_long");
                }
                cut ??= [.. inputs];
                cut[i] = text[.._options.MaxInputCharacters];
            }
        }
        return cut ?? inputs;
    }
}
