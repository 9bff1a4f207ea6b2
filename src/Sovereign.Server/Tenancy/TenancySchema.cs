using Sovereign.Data;

namespace Sovereign.Server.Tenancy;

/// <summary>
/// The tenancy area's tables: users and service accounts, tenant weights, key owners (app, user), quota limits,
/// durable token counters, usage records and the audit chain. Sorts right after <c>core</c>, whose tables it extends.
/// Append steps; never edit one that has shipped.
/// </summary>
internal static class TenancySchema
{
    public static readonly SchemaModule Module = new("tenancy",
    [
        """
        ALTER TABLE tenants ADD COLUMN weight INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE tenants ADD COLUMN disabled_at INTEGER;

        ALTER TABLE api_keys ADD COLUMN app_id TEXT;
        ALTER TABLE api_keys ADD COLUMN user_id TEXT;

        -- People (kind 'person', may sign in) and service accounts (kind 'service', act only through keys).
        -- Usernames are unique across tenants, so sign-in needs no tenant picker.
        CREATE TABLE users (
            id              TEXT PRIMARY KEY,
            tenant_id       TEXT NOT NULL REFERENCES tenants (id),
            username        TEXT NOT NULL,
            display_name    TEXT NOT NULL,
            role            TEXT NOT NULL,
            kind            TEXT NOT NULL,
            password_hash   TEXT,
            external_issuer TEXT,
            external_subject TEXT,
            failed_logins   INTEGER NOT NULL DEFAULT 0,
            locked_until    INTEGER,
            created_at      INTEGER NOT NULL,
            disabled_at     INTEGER
        );
        CREATE UNIQUE INDEX ux_users_username ON users (username COLLATE NOCASE);
        CREATE UNIQUE INDEX ux_users_external ON users (external_issuer, external_subject) WHERE external_subject IS NOT NULL;
        CREATE INDEX ix_users_tenant ON users (tenant_id, created_at);

        -- Limits for a tenant (subject 'tenant:<id>') or a key (subject 'key:<id>'); NULL = unlimited.
        CREATE TABLE quota_limits (
            subject                 TEXT PRIMARY KEY,
            tenant_id               TEXT NOT NULL REFERENCES tenants (id),
            requests_per_minute     INTEGER,
            tokens_per_day          INTEGER,
            tokens_per_month        INTEGER,
            concurrent_generations  INTEGER
        );

        -- Tokens used per subject and period ('d:2026-11-27', 'm:2026-11'), so limits hold across restarts.
        CREATE TABLE token_counters (
            subject  TEXT NOT NULL,
            period   TEXT NOT NULL,
            tokens   INTEGER NOT NULL,
            PRIMARY KEY (subject, period)
        ) WITHOUT ROWID;

        CREATE TABLE usage_records (
            id                 INTEGER PRIMARY KEY,
            tenant_id          TEXT NOT NULL,
            request_id         TEXT NOT NULL,
            key_id             TEXT,
            user_id            TEXT,
            model              TEXT NOT NULL,
            app_id             TEXT,
            api                TEXT NOT NULL,
            prompt_tokens      INTEGER NOT NULL,
            completion_tokens  INTEGER NOT NULL,
            ttft_ms            REAL,
            duration_ms        REAL NOT NULL,
            outcome            TEXT NOT NULL,
            created_at         INTEGER NOT NULL
        );
        CREATE INDEX ix_usage_tenant_time ON usage_records (tenant_id, created_at);

        -- Append-only: each record carries the hash of the one before (see AuditChain). The triggers stop honest
        -- mistakes; the chain and the head catch everything else.
        CREATE TABLE audit_log (
            seq        INTEGER PRIMARY KEY,
            tenant_id  TEXT NOT NULL,
            at         INTEGER NOT NULL,
            actor      TEXT NOT NULL,
            action     TEXT NOT NULL,
            target     TEXT NOT NULL,
            detail     TEXT NOT NULL,
            prev_hash  TEXT NOT NULL,
            hash       TEXT NOT NULL
        );
        CREATE INDEX ix_audit_tenant ON audit_log (tenant_id, seq);
        CREATE TABLE audit_head (
            id    INTEGER PRIMARY KEY CHECK (id = 1),
            seq   INTEGER NOT NULL,
            hash  TEXT NOT NULL
        );
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        """,
    ], Order: 10)
    {
        // The same tables in the cluster's PostgreSQL, plus what a single node keeps in memory: the request windows and
        // running generations (limits must count every node's) and the data-protection keys (a session cookie issued by
        // one node must open on another).
        PostgresMigrations =
        [
            """
            ALTER TABLE tenants ADD COLUMN weight INTEGER NOT NULL DEFAULT 1;
            ALTER TABLE tenants ADD COLUMN disabled_at BIGINT;

            ALTER TABLE api_keys ADD COLUMN app_id TEXT;
            ALTER TABLE api_keys ADD COLUMN user_id TEXT;

            CREATE TABLE users (
                id               TEXT PRIMARY KEY,
                tenant_id        TEXT NOT NULL REFERENCES tenants (id),
                username         TEXT NOT NULL,
                display_name     TEXT NOT NULL,
                role             TEXT NOT NULL,
                kind             TEXT NOT NULL,
                password_hash    TEXT,
                external_issuer  TEXT,
                external_subject TEXT,
                failed_logins    INTEGER NOT NULL DEFAULT 0,
                locked_until     BIGINT,
                created_at       BIGINT NOT NULL,
                disabled_at      BIGINT,
                ord              BIGINT GENERATED ALWAYS AS IDENTITY
            );
            CREATE UNIQUE INDEX ux_users_username ON users (lower(username));
            CREATE UNIQUE INDEX ux_users_external ON users (external_issuer, external_subject) WHERE external_subject IS NOT NULL;
            CREATE INDEX ix_users_tenant ON users (tenant_id, created_at);

            CREATE TABLE quota_limits (
                subject                 TEXT PRIMARY KEY,
                tenant_id               TEXT NOT NULL REFERENCES tenants (id),
                requests_per_minute     INTEGER,
                tokens_per_day          BIGINT,
                tokens_per_month        BIGINT,
                concurrent_generations  INTEGER
            );

            CREATE TABLE token_counters (
                subject  TEXT NOT NULL,
                period   TEXT NOT NULL,
                tokens   BIGINT NOT NULL,
                PRIMARY KEY (subject, period)
            );

            -- One row per request counted against a requests-per-minute limit; rows older than the window are deleted
            -- by the next request of the same subject.
            CREATE TABLE request_window (
                subject  TEXT NOT NULL,
                at_ms    BIGINT NOT NULL
            );
            CREATE INDEX ix_request_window ON request_window (subject, at_ms);

            -- One row per running generation and limited subject. The node running it renews the row while it runs,
            -- so the rows of a node that died expire and give their places back.
            CREATE TABLE generation_leases (
                lease_id       TEXT NOT NULL,
                subject        TEXT NOT NULL,
                expires_at_ms  BIGINT NOT NULL,
                PRIMARY KEY (lease_id, subject)
            );
            CREATE INDEX ix_generation_leases_subject ON generation_leases (subject, expires_at_ms);

            CREATE TABLE usage_records (
                id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                tenant_id          TEXT NOT NULL,
                request_id         TEXT NOT NULL,
                key_id             TEXT,
                user_id            TEXT,
                model              TEXT NOT NULL,
                app_id             TEXT,
                api                TEXT NOT NULL,
                prompt_tokens      INTEGER NOT NULL,
                completion_tokens  INTEGER NOT NULL,
                ttft_ms            DOUBLE PRECISION,
                duration_ms        DOUBLE PRECISION NOT NULL,
                outcome            TEXT NOT NULL,
                created_at         BIGINT NOT NULL
            );
            CREATE INDEX ix_usage_tenant_time ON usage_records (tenant_id, created_at);

            CREATE TABLE audit_log (
                seq        BIGINT PRIMARY KEY,
                tenant_id  TEXT NOT NULL,
                at         BIGINT NOT NULL,
                actor      TEXT NOT NULL,
                action     TEXT NOT NULL,
                target     TEXT NOT NULL,
                detail     TEXT NOT NULL,
                prev_hash  TEXT NOT NULL,
                hash       TEXT NOT NULL
            );
            CREATE INDEX ix_audit_tenant ON audit_log (tenant_id, seq);
            CREATE TABLE audit_head (
                id    INTEGER PRIMARY KEY CHECK (id = 1),
                seq   BIGINT NOT NULL,
                hash  TEXT NOT NULL
            );
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only';
            END $$;
            CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
            CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

            CREATE TABLE data_protection_keys (
                name  TEXT PRIMARY KEY,
                xml   TEXT NOT NULL
            );
            """,
        ],
    };
}
