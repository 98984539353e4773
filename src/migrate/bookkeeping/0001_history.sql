-- Frozen: Strata's own bookkeeping, version 1. Never edit; add 0002_….sql.
-- __SCHEMA__ is replaced by the quoted history schema name.

CREATE SCHEMA IF NOT EXISTS __SCHEMA__;

CREATE TABLE __SCHEMA__.bookkeeping (
  version integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

-- One row per applied versioned migration and per applied repeatable file
-- (whose "version" is its path, e.g. functions/get_customer_context.sql).
CREATE TABLE __SCHEMA__.schema_history (
  kind text NOT NULL CHECK (kind IN ('versioned', 'repeatable')),
  version text NOT NULL,
  name text NOT NULL,
  checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
  applied_at timestamptz NOT NULL DEFAULT now(),
  duration_ms integer NOT NULL CHECK (duration_ms >= 0),
  applied_by text NOT NULL DEFAULT current_user,
  runner text NOT NULL,
  PRIMARY KEY (kind, version)
);
