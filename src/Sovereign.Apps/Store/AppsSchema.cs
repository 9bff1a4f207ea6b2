using Sovereign.Data;

namespace Sovereign.Apps.Store;

/// <summary>The "apps" schema module: apps with their drafts, published versions, and kept conversations.</summary>
public static class AppsSchema
{
    public static SchemaModule Module { get; } = new("apps",
    [
        """
        CREATE TABLE apps (
            tenant_id         TEXT NOT NULL,
            id                TEXT NOT NULL,
            draft             TEXT NOT NULL,
            created_at        INTEGER NOT NULL,
            updated_at        INTEGER NOT NULL,
            live_version      INTEGER,
            PRIMARY KEY (tenant_id, id)
        );

        CREATE TABLE app_versions (
            tenant_id         TEXT NOT NULL,
            app_id            TEXT NOT NULL,
            version           INTEGER NOT NULL,
            definition        TEXT NOT NULL,
            published_at      INTEGER NOT NULL,
            published_by      TEXT,
            PRIMARY KEY (tenant_id, app_id, version),
            FOREIGN KEY (tenant_id, app_id) REFERENCES apps (tenant_id, id) ON DELETE CASCADE
        );

        CREATE TABLE conversations (
            id                TEXT PRIMARY KEY,
            tenant_id         TEXT NOT NULL,
            owner             TEXT NOT NULL,
            model             TEXT NOT NULL,
            title             TEXT NOT NULL,
            created_at        INTEGER NOT NULL,
            updated_at        INTEGER NOT NULL
        );
        CREATE INDEX ix_conversations_owner ON conversations (tenant_id, owner, updated_at);

        CREATE TABLE conversation_messages (
            conversation_id   TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            seq               INTEGER NOT NULL,
            role              TEXT NOT NULL,
            content           TEXT NOT NULL,
            citations         TEXT,
            created_at        INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        );
        """,
    ])
    {
        // The same tables in the cluster's PostgreSQL (SOV_DATABASE); times stay Unix milliseconds.
        PostgresMigrations =
        [
            """
            CREATE TABLE apps (
                tenant_id         TEXT NOT NULL,
                id                TEXT NOT NULL,
                draft             TEXT NOT NULL,
                created_at        BIGINT NOT NULL,
                updated_at        BIGINT NOT NULL,
                live_version      INTEGER,
                PRIMARY KEY (tenant_id, id)
            );

            CREATE TABLE app_versions (
                tenant_id         TEXT NOT NULL,
                app_id            TEXT NOT NULL,
                version           INTEGER NOT NULL,
                definition        TEXT NOT NULL,
                published_at      BIGINT NOT NULL,
                published_by      TEXT,
                PRIMARY KEY (tenant_id, app_id, version),
                FOREIGN KEY (tenant_id, app_id) REFERENCES apps (tenant_id, id) ON DELETE CASCADE
            );

            CREATE TABLE conversations (
                id                TEXT PRIMARY KEY,
                tenant_id         TEXT NOT NULL,
                owner             TEXT NOT NULL,
                model             TEXT NOT NULL,
                title             TEXT NOT NULL,
                created_at        BIGINT NOT NULL,
                updated_at        BIGINT NOT NULL
            );
            CREATE INDEX ix_conversations_owner ON conversations (tenant_id, owner, updated_at);

            CREATE TABLE conversation_messages (
                conversation_id   TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
                seq               INTEGER NOT NULL,
                role              TEXT NOT NULL,
                content           TEXT NOT NULL,
                citations         TEXT,
                created_at        BIGINT NOT NULL,
                PRIMARY KEY (conversation_id, seq)
            );
            """,
        ],
    };
}
