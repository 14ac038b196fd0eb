-- Each model version's monitor references, built once and stored: the
-- training rows (`inputs`) or holdout predictions (`outputs`) with each
-- column sorted on its own, in the tenant's artifact store, and each
-- column's summary statistics (JSON).

CREATE TABLE monitor_references (
    tenant       TEXT NOT NULL,
    model        TEXT NOT NULL,
    version      INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('inputs', 'outputs')),
    digest       TEXT NOT NULL,
    rows         INTEGER NOT NULL,
    columns_json TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    PRIMARY KEY (tenant, model, version, kind)
);
