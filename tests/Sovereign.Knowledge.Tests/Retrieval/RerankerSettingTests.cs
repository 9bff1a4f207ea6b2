using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sovereign.Core.Options;
using Sovereign.Inference.Embeddings;
using Sovereign.Inference.Hosting;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Models.Store;

namespace Sovereign.Knowledge.Tests.Retrieval;

/// <summary>
/// <c>Sovereign:Knowledge:Reranker</c> as the server composes it: a model in the real file model store is accepted, a
/// missing one stops start-up (options validation) with a message naming the setting.
/// </summary>
public sealed class RerankerSettingTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("sov-reranker-").FullName;

    [Fact]
    public async Task A_reranker_missing_from_the_model_store_is_refused_naming_the_setting_and_the_model()
    {
        await using var services = Compose(new() { ["Sovereign:Knowledge:Reranker"] = "bge-reranker" }, runsModels: true);

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<KnowledgeOptions>>().Value);

        Assert.Contains("Sovereign:Knowledge:Reranker", error.Message);
        Assert.Contains("'bge-reranker'", error.Message);
        Assert.Contains("sov models import", error.Message);
    }

    [Fact]
    public async Task A_reranker_is_refused_where_no_gguf_model_can_run()
    {
        await using var services = Compose(new() { ["Sovereign:Knowledge:Reranker"] = "stories" }, runsModels: false);

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<KnowledgeOptions>>().Value);

        Assert.Contains("Sovereign:Knowledge:Reranker", error.Message);
    }

    [Fact]
    public async Task An_imported_model_is_accepted_and_search_gets_a_gguf_reranker_with_the_configured_bounds()
    {
        await using var services = Compose(new()
        {
            ["Sovereign:Knowledge:Reranker"] = "stories",
            ["Sovereign:Knowledge:RerankCandidates"] = "12",
        }, runsModels: true);
        await services.GetRequiredService<IModelStore>().ImportAsync(Path.Combine(EngineReranker.RepositoryRoot(), "..", "shared", "models", "stories260K.gguf"),
            ModelName.Parse("stories"));

        var options = services.GetRequiredService<IOptions<KnowledgeOptions>>().Value;

        Assert.Equal("stories", options.Reranker);
        Assert.Equal(12, options.RerankCandidates);
        Assert.IsType<HybridSearch>(services.GetRequiredService<IKnowledgeSearch>());
    }

    [Theory]
    [InlineData("RerankCandidates", "0")]
    [InlineData("RerankCandidates", "101")]
    [InlineData("RerankMaxPassageTokens", "8")]
    public async Task Reranking_bounds_out_of_range_are_refused(string setting, string value)
    {
        await using var services = Compose(new() { [$"Sovereign:Knowledge:{setting}"] = value }, runsModels: true);

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<KnowledgeOptions>>().Value);

        Assert.Contains(setting, error.Message);
    }

    private ServiceProvider Compose(Dictionary<string, string?> settings, bool runsModels)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var paths = new SovereignPaths(_home);
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton(paths)
            .AddSingleton(_ => new Data.SqliteDatabase(paths, [Storage.KnowledgeSchema.Module]))
            .AddSingleton(Microsoft.Extensions.Options.Options.Create(new EmbeddingOptions()))
            .AddSingleton<EmbeddingService>()
            .AddSingleton<Core.Embeddings.IEmbeddingService>(sp => sp.GetRequiredService<EmbeddingService>());
        services.AddOptions<SovereignOptions>();
        if (runsModels)
        {
            services.AddModelStore(paths);
            services.AddSovereignInference();
        }
        services.AddSovereignKnowledge();
        return services.BuildServiceProvider();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
