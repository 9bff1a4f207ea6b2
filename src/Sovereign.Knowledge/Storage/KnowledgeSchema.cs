using Sovereign.Data;

namespace Sovereign.Knowledge.Storage;

/// <summary>
/// The "knowledge" schema module: knowledge bases, their documents (each document row is also its ingestion job),
/// chunks, vectors and the FTS5 full-text index. Every row carries tenant_id and every query filters on it.
/// </summary>
public static class KnowledgeSchema
{
    public static readonly SchemaModule Module = new("knowledge",
    [
        """
        CREATE TABLE knowledge_bases (
            id               TEXT PRIMARY KEY,
            tenant_id        TEXT NOT NULL,
            name             TEXT NOT NULL,
            description      TEXT,
            embedding_model  TEXT NOT NULL,
            created_at       INTEGER NOT NULL,
            UNIQUE (tenant_id, name)
        );

        -- One row per uploaded document; status/progress/stage/error/attempts are its ingestion job.
        CREATE TABLE kb_documents (
            id             TEXT PRIMARY KEY,
            tenant_id      TEXT NOT NULL,
            kb_id          TEXT NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
            name           TEXT NOT NULL,
            original_path  TEXT NOT NULL,
            sha256         TEXT NOT NULL,
            bytes          INTEGER NOT NULL,
            declared_type  TEXT,
            media_type     TEXT,
            pages          INTEGER,
            ocr_pages      INTEGER,
            chunk_count    INTEGER NOT NULL DEFAULT 0,
            status         TEXT NOT NULL,
            progress       REAL NOT NULL DEFAULT 0,
            stage          TEXT,
            error          TEXT,
            attempts       INTEGER NOT NULL DEFAULT 0,
            created_at     INTEGER NOT NULL,
            updated_at     INTEGER NOT NULL
        );
        CREATE INDEX ix_kb_documents_kb ON kb_documents (tenant_id, kb_id, created_at);
        CREATE INDEX ix_kb_documents_status ON kb_documents (status);

        CREATE TABLE kb_chunks (
            key           INTEGER PRIMARY KEY,
            id            TEXT NOT NULL UNIQUE,
            tenant_id     TEXT NOT NULL,
            kb_id         TEXT NOT NULL,
            document_id   TEXT NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
            ordinal       INTEGER NOT NULL,
            text          TEXT NOT NULL,
            page          INTEGER,
            heading_path  TEXT NOT NULL,
            UNIQUE (document_id, ordinal)
        );
        CREATE INDEX ix_kb_chunks_kb ON kb_chunks (tenant_id, kb_id);

        -- float32 little-endian, L2-normalised.
        CREATE TABLE kb_vectors (
            chunk_key    INTEGER PRIMARY KEY REFERENCES kb_chunks (key) ON DELETE CASCADE,
            tenant_id    TEXT NOT NULL,
            kb_id        TEXT NOT NULL,
            document_id  TEXT NOT NULL,
            vector       BLOB NOT NULL
        );
        CREATE INDEX ix_kb_vectors_kb ON kb_vectors (tenant_id, kb_id);

        -- rowid = kb_chunks.key; kept in step by the index in the same transactions as kb_chunks.
        CREATE VIRTUAL TABLE kb_fts USING fts5 (text, headings, tokenize = 'unicode61 remove_diacritics 2');
        """,
    ], Order: 200)
    {
        // The cluster's schema: the same rows, plus what several nodes sharing them need. Originals are kept here as
        // received (any node can run any job); a job is claimed for a lease, so two nodes never run it at once; and every
        // write to a base's index appends to kb_index_changes, which is how each node's (or partition's) vectors in memory
        // learn what changed without a message from the writer. Full text is PostgreSQL's own (tsvector, GIN); vectors
        // are float32 little-endian bytes, searched exactly in memory, or by pgvector in a column added where the server
        // has the extension (see PostgresVectorSearch; not a migration, since the extension may come later or never).
        PostgresMigrations =
        [
            """
            CREATE TABLE knowledge_bases (
                id               TEXT PRIMARY KEY,
                tenant_id        TEXT NOT NULL,
                name             TEXT NOT NULL,
                description      TEXT,
                embedding_model  TEXT NOT NULL,
                created_at       BIGINT NOT NULL,
                UNIQUE (tenant_id, name)
            );

            CREATE TABLE kb_documents (
                id             TEXT PRIMARY KEY,
                tenant_id      TEXT NOT NULL,
                kb_id          TEXT NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
                name           TEXT NOT NULL,
                original_path  TEXT NOT NULL,
                sha256         TEXT NOT NULL,
                bytes          BIGINT NOT NULL,
                declared_type  TEXT,
                media_type     TEXT,
                pages          INTEGER,
                ocr_pages      INTEGER,
                chunk_count    INTEGER NOT NULL DEFAULT 0,
                status         TEXT NOT NULL,
                progress       DOUBLE PRECISION NOT NULL DEFAULT 0,
                stage          TEXT,
                error          TEXT,
                attempts       INTEGER NOT NULL DEFAULT 0,
                claimed_by     TEXT,
                lease_until    BIGINT,
                created_at     BIGINT NOT NULL,
                updated_at     BIGINT NOT NULL,
                seq            BIGINT GENERATED ALWAYS AS IDENTITY
            );
            CREATE INDEX ix_kb_documents_kb ON kb_documents (tenant_id, kb_id, created_at, seq);
            CREATE INDEX ix_kb_documents_status ON kb_documents (status);

            CREATE TABLE kb_originals (
                document_id  TEXT PRIMARY KEY REFERENCES kb_documents (id) ON DELETE CASCADE,
                content      BYTEA NOT NULL
            );

            CREATE TABLE kb_chunks (
                key           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id            TEXT NOT NULL UNIQUE,
                tenant_id     TEXT NOT NULL,
                kb_id         TEXT NOT NULL,
                document_id   TEXT NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
                ordinal       INTEGER NOT NULL,
                text          TEXT NOT NULL,
                page          INTEGER,
                heading_path  TEXT NOT NULL,
                terms         TSVECTOR NOT NULL,
                vector        BYTEA NOT NULL,
                UNIQUE (document_id, ordinal)
            );
            CREATE INDEX ix_kb_chunks_kb ON kb_chunks (tenant_id, kb_id);
            CREATE INDEX ix_kb_chunks_terms ON kb_chunks USING GIN (terms);

            CREATE TABLE kb_index_changes (
                seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                tenant_id    TEXT NOT NULL,
                kb_id        TEXT NOT NULL,
                document_id  TEXT
            );
            CREATE INDEX ix_kb_index_changes_kb ON kb_index_changes (tenant_id, kb_id, seq);
            """,
        ],
    };
}
