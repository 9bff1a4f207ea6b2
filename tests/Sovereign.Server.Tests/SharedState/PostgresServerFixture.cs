using Sovereign.TestSupport.Postgres;

namespace Sovereign.Server.Tests.SharedState;

/// <summary>One real PostgreSQL server for every test in the <see cref="PostgresCollection"/>; each class takes its own databases.</summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    public PostgresInstance Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await PostgresInstance.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServerFixture>
{
    public const string Name = "postgresql";
}
