-- Storage a tenant's writes in flight have reserved under its cap, so the
-- cap holds across processes: an output is admitted only if the tenant's
-- stored bytes plus every reservation plus its size fit, in one statement.
-- holder: the lease token of the process writing (see meta::leases); the
-- reservations of a holder that died are released by the next process
-- that needs the room, and by `gc`.
CREATE TABLE storage_reservations (
    id         INTEGER PRIMARY KEY,
    tenant     TEXT NOT NULL,
    digest     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    holder     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX storage_reservations_by_tenant ON storage_reservations (tenant);
