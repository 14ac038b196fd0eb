-- The inference log of `sluice serve`: every answered (or refused)
-- request of a served model, written in batches as Parquet files into the
-- tenant's artifact store. Each row here lists one such file: its digest,
-- whose model and version it holds, how many rows and requests, and the
-- time span of its requests (Unix milliseconds), so a reader picks the
-- files of a window without opening the others.

CREATE TABLE inference_logs (
    digest     TEXT NOT NULL,
    tenant     TEXT NOT NULL,
    model      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    rows       INTEGER NOT NULL,
    requests   INTEGER NOT NULL,
    first_ms   INTEGER NOT NULL,
    last_ms    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant, digest)
);
CREATE INDEX inference_logs_by_model ON inference_logs (tenant, model, last_ms);
