-- Bearer tokens of `sluice serve`, each bound to one tenant. Only the
-- SHA-256 of a token is kept: the token itself is shown once, when it is
-- created. A revoked token stays, marked, so its id keeps its meaning.

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY NOT NULL,
    tenant     TEXT NOT NULL,
    sha256     TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX tokens_by_tenant ON tokens (tenant, created_at);
