-- Rollouts: one flag moved through steps by the server's controller, and each rollout's
-- event log. Written in the same transaction as the flag changes of the same transition.
--
-- The store treats plan, base, state and detail as opaque JSON (TEXT); `phase` and `active`
-- are copied out of the state so listing needs no JSON. Times are Unix milliseconds (UTC);
-- `revision` is the config revision of the last commit that touched the row.

CREATE TABLE rollouts (
    -- AUTOINCREMENT: ids start at 1 and are never reused, even after the newest is deleted.
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    flag        TEXT NOT NULL,
    plan        TEXT NOT NULL,
    base        TEXT NOT NULL,
    state       TEXT NOT NULL,
    phase       TEXT NOT NULL,
    active      INTEGER NOT NULL CHECK (active IN (0, 1)),
    -- Optimistic concurrency: 1 on creation, +1 on every update.
    version     INTEGER NOT NULL CHECK (version > 0),
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    revision    INTEGER NOT NULL CHECK (revision > 0)
) STRICT;

-- At most one active rollout per flag. The store maps a violation to AlreadyExists.
CREATE UNIQUE INDEX rollouts_one_active_per_flag ON rollouts (flag) WHERE active = 1;

CREATE INDEX rollouts_by_flag ON rollouts (flag, id);

-- Every transition of every rollout; `seq` is 1, 2, 3... per rollout, without gaps.
CREATE TABLE rollout_events (
    rollout_id  INTEGER NOT NULL REFERENCES rollouts (id),
    seq         INTEGER NOT NULL CHECK (seq > 0),
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    event       TEXT NOT NULL,
    from_phase  TEXT NOT NULL,
    to_phase    TEXT NOT NULL,
    detail      TEXT NOT NULL,
    revision    INTEGER NOT NULL CHECK (revision > 0),
    PRIMARY KEY (rollout_id, seq)
) STRICT, WITHOUT ROWID;
