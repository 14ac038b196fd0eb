-- Tenants: every run belongs to one. A tenant's caps bound what its
-- pipelines may ask for; its artifacts are accounted per tenant so the
-- storage cap can be enforced.

CREATE TABLE tenants (
    name       TEXT PRIMARY KEY NOT NULL,
    -- The caps as JSON (fields with defaults, so new caps need no migration).
    caps_json  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

ALTER TABLE runs ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
CREATE INDEX runs_by_tenant ON runs (tenant, started_at);

-- Which tenant stored which artifact (the same bytes stored by two tenants
-- are two objects under two prefixes, and count for both).
CREATE TABLE tenant_artifacts (
    tenant     TEXT NOT NULL,
    digest     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant, digest)
);

INSERT INTO tenant_artifacts (tenant, digest, size, created_at)
    SELECT 'default', digest, size, created_at FROM artifacts;

-- Read-only directories a step was granted, as JSON [{"name", "path"}].
ALTER TABLE step_runs ADD COLUMN grants_json TEXT NOT NULL DEFAULT '[]';
