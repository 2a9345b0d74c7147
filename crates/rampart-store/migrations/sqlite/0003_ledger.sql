-- The audit ledger: one hash-chained, Ed25519-signed entry per change, written in the same
-- transaction as the change itself. `seq` is the primary key, so two writers can never
-- append the same position (no fork); commits are serialized by BEGIN IMMEDIATE, so each
-- entry's prev_hash is the head it read. Entries are never updated or deleted by Rampart.

CREATE TABLE ledger (
    seq        INTEGER PRIMARY KEY CHECK (seq > 0),
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    signature  TEXT NOT NULL,
    key_id     TEXT NOT NULL
) STRICT;
