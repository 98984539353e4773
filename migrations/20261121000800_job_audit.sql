-- What the scheduled jobs did: every run, the pg_stat_statements snapshots the
-- slow-query audit takes, what it found, and the alerts it raised. Platform
-- internals, not tenant data: only the worker writes them and reporting reads
-- them (grants in policies/), so they carry no row-level security.

-- strata:up
SET LOCAL ROLE strata_owner;

CREATE TYPE public.job_run_status AS ENUM ('running', 'succeeded', 'failed', 'skipped');

CREATE TABLE public.job_runs (
  id          bigint                NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_name    text                  NOT NULL CHECK (btrim(job_name) <> ''),
  -- pg-boss job id, when the run came from the queue rather than the CLI.
  boss_job_id uuid,
  host        text                  NOT NULL,
  status      public.job_run_status NOT NULL DEFAULT 'running',
  started_at  timestamptz           NOT NULL DEFAULT now(),
  finished_at timestamptz,
  duration_ms double precision      CHECK (duration_ms >= 0),
  -- What the run changed: partitions created, rows moved, leads trimmed...
  changes     jsonb                 NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(changes) = 'object'),
  error       text,
  CONSTRAINT job_runs_finished_consistent CHECK ((status = 'running') = (finished_at IS NULL)),
  CONSTRAINT job_runs_finished_after_start CHECK (finished_at IS NULL OR finished_at >= started_at)
);

-- "Last runs of job X", and pruning by age.
CREATE INDEX job_runs_job_started_idx ON public.job_runs (job_name, started_at DESC);
CREATE INDEX job_runs_started_idx ON public.job_runs (started_at);

-- Cumulative pg_stat_statements counters as read at one audit run; the audit
-- compares consecutive snapshots of the same statement to get deltas.
CREATE TABLE public.slow_query_snapshots (
  id                  bigint           NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_run_id          bigint           REFERENCES public.job_runs (id) ON DELETE SET NULL,
  captured_at         timestamptz      NOT NULL DEFAULT now(),
  -- pg_stat_statements' identity of a statement: (userid, dbid, queryid, toplevel).
  userid              oid              NOT NULL,
  dbid                oid              NOT NULL,
  queryid             bigint           NOT NULL,
  toplevel            boolean          NOT NULL DEFAULT true,
  query               text             NOT NULL,
  calls               bigint           NOT NULL CHECK (calls >= 0),
  total_exec_time_ms  double precision NOT NULL CHECK (total_exec_time_ms >= 0),
  mean_exec_time_ms   double precision NOT NULL CHECK (mean_exec_time_ms >= 0),
  rows                bigint           NOT NULL CHECK (rows >= 0),
  shared_blks_hit     bigint           NOT NULL DEFAULT 0,
  shared_blks_read    bigint           NOT NULL DEFAULT 0,
  -- Counters restart when pg_stat_statements is reset; deltas across a reset
  -- are meaningless, so the reset time is kept to detect it.
  stats_reset         timestamptz
);

-- Previous snapshot of the same statement; also covers pruning per statement.
CREATE INDEX slow_query_snapshots_statement_idx ON public.slow_query_snapshots (queryid, dbid, userid, captured_at DESC);
CREATE INDEX slow_query_snapshots_captured_idx ON public.slow_query_snapshots (captured_at);
CREATE INDEX slow_query_snapshots_job_run_id_idx ON public.slow_query_snapshots (job_run_id);

CREATE TYPE public.slow_query_reason AS ENUM ('mean_time', 'total_time_share', 'calls');

CREATE TABLE public.slow_query_findings (
  id           bigint                   NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_run_id   bigint                   REFERENCES public.job_runs (id) ON DELETE SET NULL,
  snapshot_id  bigint                   NOT NULL REFERENCES public.slow_query_snapshots (id) ON DELETE CASCADE,
  detected_at  timestamptz              NOT NULL DEFAULT now(),
  queryid      bigint                   NOT NULL,
  query        text                     NOT NULL,
  reason       public.slow_query_reason NOT NULL,
  -- The measured value over the window and the threshold it crossed.
  observed     double precision         NOT NULL,
  threshold    double precision         NOT NULL,
  window_start timestamptz              NOT NULL,
  window_end   timestamptz              NOT NULL,
  CONSTRAINT slow_query_findings_window CHECK (window_end >= window_start)
);

CREATE INDEX slow_query_findings_detected_idx ON public.slow_query_findings (detected_at);
CREATE INDEX slow_query_findings_queryid_idx ON public.slow_query_findings (queryid, detected_at DESC);
CREATE INDEX slow_query_findings_snapshot_id_idx ON public.slow_query_findings (snapshot_id);
CREATE INDEX slow_query_findings_job_run_id_idx ON public.slow_query_findings (job_run_id);

CREATE TYPE public.alert_severity AS ENUM ('info', 'warning', 'critical');

CREATE TABLE public.performance_alerts (
  id              bigint                NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  finding_id      bigint                REFERENCES public.slow_query_findings (id) ON DELETE SET NULL,
  raised_at       timestamptz           NOT NULL DEFAULT now(),
  severity        public.alert_severity NOT NULL,
  -- e.g. 'slow_query', 'default_partition_rows', 'leaderboard_stale'
  kind            text                  NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
  message         text                  NOT NULL CHECK (btrim(message) <> ''),
  details         jsonb                 NOT NULL DEFAULT '{}'::jsonb,
  acknowledged_at timestamptz
);

-- Open alerts, newest first: the only list anyone looks at.
CREATE INDEX performance_alerts_open_idx ON public.performance_alerts (raised_at DESC) WHERE acknowledged_at IS NULL;
CREATE INDEX performance_alerts_raised_idx ON public.performance_alerts (raised_at);
CREATE INDEX performance_alerts_finding_id_idx ON public.performance_alerts (finding_id);

-- strata:down
SET LOCAL ROLE strata_owner;

DROP TABLE public.performance_alerts;
DROP TYPE public.alert_severity;
DROP TABLE public.slow_query_findings;
DROP TYPE public.slow_query_reason;
DROP TABLE public.slow_query_snapshots;
DROP TABLE public.job_runs;
DROP TYPE public.job_run_status;
