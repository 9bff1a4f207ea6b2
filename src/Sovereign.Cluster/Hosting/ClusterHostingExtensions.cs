using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Sovereign.Cluster.Knowledge;
using Sovereign.Cluster.Nodes;
using Sovereign.Cluster.Routing;
using Sovereign.Core.Generation;
using Sovereign.Core.Options;
using Sovereign.Knowledge.Index;
using Sovereign.Models.Store;
using StackExchange.Redis;

namespace Sovereign.Cluster.Hosting;

public static class ClusterHostingExtensions
{
    /// <summary>
    /// Makes this server a node of a cluster when <c>SOV_CLUSTER_REDIS</c> is set; otherwise changes nothing. Call after
    /// the engine is registered: in cluster mode the <see cref="IInferenceService"/> becomes the router, which runs
    /// each generation on the node that should (this one included). Invalid settings stop start-up, naming each.
    /// </summary>
    public static IHostApplicationBuilder AddSovereignCluster(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(SovereignOptions.Section).Get<SovereignClusterOptions>() ?? new SovereignClusterOptions();
        if (!options.Enabled) return builder;
        var errors = options.Validate();
        if (errors.Count > 0) throw new OptionsValidationException(SovereignOptions.Section, typeof(SovereignClusterOptions), errors);

        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddSingleton<LocalNode>();
        builder.Services.AddSingleton<PeerModelCopier>();
        builder.Services.AddSingleton<ClusterDirectory>();
        builder.Services.AddSingleton<ClusterInferenceService>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IInferenceService>(sp => sp.GetRequiredService<ClusterInferenceService>()));
        builder.Services.AddSingleton<IClusterAdmin, ClusterAdmin>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IModelLocator, ClusterModelLocator>());
        // Used only when knowledge lives in the shared PostgreSQL database (SOV_DATABASE): each base's vectors are then
        // split into partitions spread across the nodes.
        builder.Services.Replace(ServiceDescriptor.Singleton<IVectorPartitions, GrainVectorPartitions>());

        builder.UseOrleans(silo => ConfigureSilo(silo, options));
        return builder;
    }

    private static void ConfigureSilo(ISiloBuilder silo, SovereignClusterOptions options)
    {
        // Membership in Redis, under an id derived from the shared secret.
        silo.UseRedisClustering(redis => redis.ConfigurationOptions = new ConfigurationOptions
        {
            EndPoints = { options.ClusterRedis! },
            AbortOnConnectFail = false,
        });
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = "sovereign";
        });
        silo.Configure<SiloOptions>(o => o.SiloName = options.NodeName);

        // Listen on the configured interface only; no gateway, since no Orleans client ever connects from outside.
        var address = IPAddress.Parse(options.ClusterAddress);
        silo.Configure<EndpointOptions>(o =>
        {
            o.AdvertisedIPAddress = address;
            o.SiloPort = options.ClusterPort;
            o.SiloListeningEndpoint = new IPEndPoint(address, options.ClusterPort);
            o.GatewayPort = 0;
            o.GatewayListeningEndpoint = null;
        });

        // A dead node is noticed within a few seconds on a local network (probe every second, two misses, one vote),
        // rather than Orleans' defaults, tuned for clouds, of tens of seconds.
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.NumMissedProbesLimit = 2;
            o.NumVotesForDeathDeclaration = 1;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
            o.MaxJoinAttemptTime = TimeSpan.FromSeconds(30);
        });
        silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = options.ClusterCallTimeout);

        silo.AddPlacementDirector<NodePlacementStrategy, NodePlacementDirector>();
        silo.AddPlacementDirector<PartitionPlacementStrategy, PartitionPlacementDirector>();

        if (!string.IsNullOrEmpty(options.ClusterCertificate))
        {
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(options.ClusterCertificate, options.ClusterCertificatePassword);
            var anchor = string.IsNullOrEmpty(options.ClusterCertificateAuthority)
                ? X509CertificateLoader.LoadCertificate(certificate.RawData)
                : X509CertificateLoader.LoadCertificateFromFile(options.ClusterCertificateAuthority);
            silo.UseTls(certificate, tls =>
            {
                tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
                tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
                tls.RemoteCertificateValidation = (peer, _, _) => PeerCertificates.IsTrusted(peer, anchor);
            });
        }
    }
}
