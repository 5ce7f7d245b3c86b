-- doorguard schema, version 1.
-- Timestamps are UTC RFC 3339 text with microseconds ("2026-11-24T10:53:08.123456Z"),
-- fixed width so they sort as text. Sealed columns hold vault blobs (see src/vault.rs);
-- no personal detail is ever stored in clear.

-- The kiosk's vault: one row, written by `init`.
CREATE TABLE vault (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    created_at           TEXT    NOT NULL,
    pin_salt             BLOB    NOT NULL,
    pin_memory_kib       INTEGER NOT NULL,
    pin_iterations       INTEGER NOT NULL,
    pin_parallelism      INTEGER NOT NULL,
    evidence_public_key  BLOB    NOT NULL CHECK (length(evidence_public_key) = 32),
    evidence_secret_key  BLOB    NOT NULL  -- sealed under the data key
) STRICT;

CREATE TABLE admins (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL
) STRICT;

-- The data key wrapped once per administrator passphrase and once under the recovery code.
CREATE TABLE vault_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL CHECK (kind IN ('admin', 'recovery')),
    admin_id     INTEGER UNIQUE REFERENCES admins(id) ON DELETE CASCADE,
    salt         BLOB    NOT NULL,
    memory_kib   INTEGER NOT NULL,
    iterations   INTEGER NOT NULL,
    parallelism  INTEGER NOT NULL,
    wrapped_key  BLOB    NOT NULL,
    updated_at   TEXT    NOT NULL,
    CHECK ((kind = 'admin') = (admin_id IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX vault_keys_one_recovery ON vault_keys(kind) WHERE kind = 'recovery';

CREATE TABLE people (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        BLOB    NOT NULL,  -- sealed
    email       BLOB,              -- sealed
    phone       BLOB,              -- sealed
    notes       BLOB,              -- sealed
    photo       BLOB,              -- sealed JPEG
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
) STRICT;

-- PIN lookup: Argon2id(PIN, device salt). Normal and duress PINs share one namespace,
-- so every PIN on the kiosk is unique.
CREATE TABLE pins (
    hash       BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('normal', 'duress')),
    UNIQUE (person_id, kind)
) STRICT, WITHOUT ROWID;

-- Intruder photos, sealed to the vault's public key.
CREATE TABLE evidence (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    taken_at     TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    sealed_jpeg  BLOB    NOT NULL,
    purge_after  TEXT    NOT NULL
) STRICT;
CREATE INDEX evidence_purge ON evidence(purge_after);

-- Audit log: never a secret, never a personal detail (people appear by id).
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    person_id    INTEGER,
    admin_id     INTEGER,
    evidence_id  INTEGER REFERENCES evidence(id) ON DELETE SET NULL,
    detail       TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_at ON audit(at);

-- The access rules' persisted state (attempt counts, lockout, hard lock): one row.
CREATE TABLE access_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    snapshot    TEXT    NOT NULL,  -- JSON of access::Snapshot
    updated_at  TEXT    NOT NULL
) STRICT;

-- Durable alert outbox: an alert and its photos are committed before any send.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    payload     TEXT    NOT NULL   -- JSON: everything the message needs but the photos
) STRICT;

-- Plaintext photos live here only until every channel is done with the alert.
CREATE TABLE alert_photos (
    alert_id  INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    jpeg      BLOB    NOT NULL,
    PRIMARY KEY (alert_id, position)
) STRICT;

CREATE TABLE deliveries (
    alert_id      INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    channel       TEXT    NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'expired')),
    tries         INTEGER NOT NULL DEFAULT 0,
    next_try_at   TEXT    NOT NULL,
    last_error    TEXT,
    delivered_at  TEXT,
    PRIMARY KEY (alert_id, channel)
) STRICT;
CREATE INDEX deliveries_due ON deliveries(state, next_try_at);
