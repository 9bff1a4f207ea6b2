using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Core.Net;
using Sovereign.Core.Options;
using Sovereign.Inference.Embeddings;
using Sovereign.Inference.Hosting;
using Sovereign.Knowledge.Extraction;
using Sovereign.Models.Store;
using Sovereign.Agents;
using Sovereign.Server.Admin;
using Sovereign.Server.Agents;
using Sovereign.Server.Apps;
using Sovereign.Server.Auth;
using Sovereign.Server.Cluster;
using Sovereign.Data;
using Sovereign.Server.Errors;
using Sovereign.Server.Health;
using Sovereign.Server.Knowledge;
using Sovereign.Server.Mirror;
using Sovereign.Server.Ollama;
using Sovereign.Server.OpenAi;
using Sovereign.Server.Tenancy;
using Sovereign.Server.WebUi;

namespace Sovereign.Server.Hosting;

/// <summary>What the server registers and maps; one <c>AddX()</c>/<c>MapXApi()</c> per area.</summary>
internal static class ServerComposition
{
    public static IServiceCollection AddSovereignServer(this IServiceCollection services)
    {
        // Options: bound from "Sovereign", every error naming its setting, checked before anything starts.
        services.AddOptions<SovereignOptions>().BindConfiguration(SovereignOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SovereignOptions>, SovereignOptionsValidator>();
        services.AddSingleton(sp => new SovereignPaths(sp.GetRequiredService<IOptions<SovereignOptions>>().Value.Home));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOperatorConsole, StandardOperatorConsole>();

        // Every outbound HttpClient made by the factory goes through the allow-list.
        services.AddHttpClient();
        services.ConfigureHttpClientDefaults(http => http.ConfigurePrimaryHttpMessageHandler(sp =>
            new AllowListHandler(sp.GetRequiredService<IOptions<SovereignOptions>>().Value.AllowedHosts)));

        services.TryAddSingleton(sp => new FileModelStore(
            sp.GetRequiredService<SovereignPaths>(), sp.GetService<ILogger<FileModelStore>>(), sp.GetService<TimeProvider>()));
        // Changes through the server are audited; the puller writes to the file store underneath and audits itself.
        services.TryAddSingleton<IModelStore>(sp => new Tenancy.AuditedModelStore(sp.GetRequiredService<FileModelStore>(), sp.GetRequiredService<Core.Tenancy.IAuditLog>()));
        services.TryAddSingleton<IModelLocator, LocalModelLocator>();
        services.AddSovereignInference();
        services.AddSovereignEmbeddings();
        services.AddDocumentExtraction();
        services.AddSovereignMirror();

        services.AddSingleton<SqliteDatabase>();
        services.AddSingleton<IApiKeyStore, SqliteApiKeyStore>();
        services.AddSingleton<AdminKeyBootstrapper>();
        services.AddSovereignTenancy();
        services.AddHostedService<StartupTasks>();

        services.AddSingleton<GenerationResponder>();
        services.AddSingleton<ChatCompletionsHandler>();
        services.AddSingleton<CompletionsHandler>();
        services.AddKnowledge();
        services.AddSovereignAgents();
        services.AddSovereignAppsApi();
        services.AddWebUi();
        return services;
    }

    public static WebApplication MapSovereignServer(this WebApplication app)
    {
        app.UseMiddleware<ErrorHandlingMiddleware>();

        // Kestrel refuses a body beyond Limits.MaxRequestBytes while it is read (→ 413 in OpenAI's shape). Set per
        // request rather than in KestrelServerOptions: those are read while the app is built, before the options are
        // validated, and a bad setting would then escape Build() instead of failing start-up with its message.
        var limits = app.Services.GetRequiredService<IOptionsMonitor<SovereignOptions>>();
        app.Use((context, next) =>
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } body)
                body.MaxRequestBodySize = limits.CurrentValue.Limits.MaxRequestBytes;
            return next(context);
        });
        app.UseAuthentication();
        app.UseMiddleware<ApiKeyAuthenticationMiddleware>();

        app.MapHealthApi();
        app.MapModelsApi();
        app.MapChatCompletionsApi();
        app.MapCompletionsApi();
        app.MapEmbeddingsApi();
        app.MapOllamaApi();
        app.MapKeysApi();
        app.MapMirrorApi();
        app.MapTenancyApi();
        app.MapKnowledgeApi();
        app.MapAgentsApi();
        app.MapAppsApi();
        app.MapClusterApi();
        app.MapWebUi();
        return app;
    }
}
