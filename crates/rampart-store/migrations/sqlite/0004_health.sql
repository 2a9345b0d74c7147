-- Health windows of rollouts: one row per rollout, arm and sealed 1 s window, with the
-- window's aggregate (requests, errors, latency sketch, custom values) as JSON. A window is
-- written once the judge has read it and never changes afterwards; a restarted server reads
-- them back so its analysis continues where it stopped. Observations, not configuration:
-- writing them bumps no revision and adds no ledger entry (the decisions they lead to do).

CREATE TABLE rollout_health (
    rollout_id  INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
    arm         TEXT NOT NULL CHECK (arm IN ('baseline', 'candidate')),
    window      INTEGER NOT NULL CHECK (window >= 0),
    aggregate   TEXT NOT NULL,
    PRIMARY KEY (rollout_id, arm, window)
) STRICT, WITHOUT ROWID;
