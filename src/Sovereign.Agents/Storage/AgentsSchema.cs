using Sovereign.Data;

namespace Sovereign.Agents.Storage;

/// <summary>The "agents" schema module: agent definitions, their runs, each run's trace and its tool calls that wait for a person. Every row carries its tenant.</summary>
public static class AgentsSchema
{
    public static readonly SchemaModule Module = new("agents",
    [
        """
        CREATE TABLE agents (
            id          TEXT PRIMARY KEY,
            tenant_id   TEXT NOT NULL REFERENCES tenants (id),
            name        TEXT NOT NULL,
            definition  TEXT NOT NULL,
            created_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL
        );
        CREATE INDEX ix_agents_tenant ON agents (tenant_id, created_at);

        CREATE TABLE agent_runs (
            id                 TEXT PRIMARY KEY,
            tenant_id          TEXT NOT NULL REFERENCES tenants (id),
            agent_id           TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
            status             TEXT NOT NULL,
            stop_reason        TEXT,
            input              TEXT NOT NULL,
            answer             TEXT,
            error              TEXT,
            definition         TEXT NOT NULL,
            steps              INTEGER NOT NULL DEFAULT 0,
            prompt_tokens      INTEGER NOT NULL DEFAULT 0,
            completion_tokens  INTEGER NOT NULL DEFAULT 0,
            tool_ms            INTEGER NOT NULL DEFAULT 0,
            started_at         INTEGER NOT NULL,
            finished_at        INTEGER
        );
        CREATE INDEX ix_agent_runs_agent ON agent_runs (tenant_id, agent_id, started_at);

        CREATE TABLE agent_run_steps (
            run_id     TEXT NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
            seq        INTEGER NOT NULL,
            tenant_id  TEXT NOT NULL,
            kind       TEXT NOT NULL,
            data       TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)
        );
        """,
        // Tool calls waiting for a person are kept, so a restart cannot lose one silently: the run that waited is marked
        // failed (interrupted) and its call shows why it was never decided.
        """
        CREATE TABLE agent_run_approvals (
            run_id        TEXT NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
            call_id       TEXT NOT NULL,
            tenant_id     TEXT NOT NULL,
            tool          TEXT NOT NULL,
            arguments     TEXT NOT NULL,
            requested_at  INTEGER NOT NULL,
            decision      TEXT,
            decided_at    INTEGER,
            PRIMARY KEY (run_id, call_id)
        );
        CREATE INDEX ix_agent_run_approvals_pending ON agent_run_approvals (run_id) WHERE decision IS NULL;
        """,
    ], Order: 200)
    {
        // The same tables in the cluster's PostgreSQL (SOV_DATABASE), where the tenants they reference live.
        PostgresMigrations =
        [
            """
            CREATE TABLE agents (
                id          TEXT PRIMARY KEY,
                tenant_id   TEXT NOT NULL REFERENCES tenants (id),
                name        TEXT NOT NULL,
                definition  TEXT NOT NULL,
                created_at  BIGINT NOT NULL,
                updated_at  BIGINT NOT NULL
            );
            CREATE INDEX ix_agents_tenant ON agents (tenant_id, created_at);

            CREATE TABLE agent_runs (
                id                 TEXT PRIMARY KEY,
                tenant_id          TEXT NOT NULL REFERENCES tenants (id),
                agent_id           TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
                status             TEXT NOT NULL,
                stop_reason        TEXT,
                input              TEXT NOT NULL,
                answer             TEXT,
                error              TEXT,
                definition         TEXT NOT NULL,
                steps              INTEGER NOT NULL DEFAULT 0,
                prompt_tokens      INTEGER NOT NULL DEFAULT 0,
                completion_tokens  INTEGER NOT NULL DEFAULT 0,
                tool_ms            BIGINT NOT NULL DEFAULT 0,
                started_at         BIGINT NOT NULL,
                finished_at        BIGINT
            );
            CREATE INDEX ix_agent_runs_agent ON agent_runs (tenant_id, agent_id, started_at);

            CREATE TABLE agent_run_steps (
                run_id     TEXT NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
                seq        INTEGER NOT NULL,
                tenant_id  TEXT NOT NULL,
                kind       TEXT NOT NULL,
                data       TEXT NOT NULL,
                PRIMARY KEY (run_id, seq)
            );
            """,
            """
            CREATE TABLE agent_run_approvals (
                run_id        TEXT NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
                call_id       TEXT NOT NULL,
                tenant_id     TEXT NOT NULL,
                tool          TEXT NOT NULL,
                arguments     TEXT NOT NULL,
                requested_at  BIGINT NOT NULL,
                decision      TEXT,
                decided_at    BIGINT,
                PRIMARY KEY (run_id, call_id)
            );
            CREATE INDEX ix_agent_run_approvals_pending ON agent_run_approvals (run_id) WHERE decision IS NULL;
            """,
        ],
    };
}
