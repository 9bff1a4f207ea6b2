using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sovereign.Agents.Storage;

namespace Sovereign.Agents.Runs;

/// <summary>
/// At start-up, before the server takes requests (the schema is migrated first), marks as failed every run the database
/// still shows running or waiting for approval: a crash or a stop cut it off, and a run does not resume (its model
/// conversation and MCP sessions lived in the old process). Its error names the call that waited for a person, and that
/// call is marked interrupted, so no one approves a call that will never run. A graceful stop already marks its own runs
/// (see <see cref="AgentRunService"/>); this covers crashes. Assumes one server per database, as SQLite deployments are.
/// </summary>
internal sealed partial class AgentRunRecovery(IAgentRunStore runs, TimeProvider time, ILogger<AgentRunRecovery> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var failed = await runs.FailUnfinishedAsync(time.GetUtcNow(), cancellationToken);
        foreach (var run in failed) LogInterrupted(logger, run.Id, run.AgentId);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 5300, Level = LogLevel.Warning, Message = "Agent run {RunId} of agent {AgentId} was cut off by a stop or crash; marked failed (interrupted)")]
    private static partial void LogInterrupted(ILogger logger, string runId, string agentId);
}
