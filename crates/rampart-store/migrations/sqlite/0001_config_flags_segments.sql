-- Rampart's configuration: the config revision, current flags and segments, and their history.
--
-- Bodies are the JSON of FlagSpec / SegmentSpec. Revisions and times are INTEGER (i64);
-- times are Unix milliseconds (UTC). Later migrations add their own tables (rollouts, ledger)
-- and are written in the same transaction as the config change they belong to.

-- Exactly one row: the revision of the whole configuration, bumped by one per commit.
CREATE TABLE config (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    revision    INTEGER NOT NULL CHECK (revision >= 0),
    -- The time of the last commit; commit times never go backwards even if the clock does.
    updated_at  INTEGER NOT NULL
) STRICT;

INSERT INTO config (id, revision, updated_at) VALUES (1, 0, 0);

CREATE TABLE flags (
    key         TEXT PRIMARY KEY NOT NULL,
    revision    INTEGER NOT NULL CHECK (revision > 0),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    body        TEXT NOT NULL
) STRICT;

-- Every version of every flag, including deletions (body NULL), in commit order.
CREATE TABLE flag_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT NOT NULL,
    revision    INTEGER NOT NULL CHECK (revision > 0),
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    op          TEXT NOT NULL CHECK (op IN ('created', 'updated', 'deleted')),
    body        TEXT,
    CHECK ((op = 'deleted') = (body IS NULL))
) STRICT;

CREATE INDEX flag_history_by_key ON flag_history (key, id);

CREATE TABLE segments (
    name        TEXT PRIMARY KEY NOT NULL,
    revision    INTEGER NOT NULL CHECK (revision > 0),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    body        TEXT NOT NULL
) STRICT;

CREATE TABLE segment_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    revision    INTEGER NOT NULL CHECK (revision > 0),
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    op          TEXT NOT NULL CHECK (op IN ('created', 'updated', 'deleted')),
    body        TEXT,
    CHECK ((op = 'deleted') = (body IS NULL))
) STRICT;

CREATE INDEX segment_history_by_name ON segment_history (name, id);
