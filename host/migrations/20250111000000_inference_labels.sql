-- Ground truth for the inference log (`POST /v2/models/NAME/feedback`,
-- `sluice feedback`): each row lists one Parquet file of labels in the
-- tenant's artifact store, naming logged requests by id (and row) or by
-- key. Labels come late, hours after their requests: they are kept apart
-- from the log and joined to it when read.

CREATE TABLE inference_labels (
    digest      TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    model       TEXT NOT NULL,
    rows        INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant, digest)
);
CREATE INDEX inference_labels_by_model ON inference_labels (tenant, model, received_ms);
