-- workshop_leaderboard_for_member() is the leaderboard's hot path, and almost
-- half of its cost over a bare round trip went to joining users for each
-- row's display_name (one index lookup per row) and to sorting the workshop's
-- rows, because the (workshop_id, rank) index leaves ties on rank to a sort by
-- user_id. The view now carries display_name and the index ends with user_id,
-- so the top N can be read in index order and returned as stored.
--
-- display_name is denormalised on purpose, to drop that lookup per row: the
-- name is as fresh as the last refresh, which the worker's job runs every few
-- minutes, like the ranks themselves. Until then a renamed user keeps the old
-- name, and an account deleted since still shows (the join used to hide it).
--
-- refreshed_at moves out of the view into workshop_leaderboard_refresh: as a
-- column it held now(), so every REFRESH ... CONCURRENTLY found every row
-- changed and rewrote the whole view (about 9 s instead of 2.5 s at the
-- large scale, with the WAL and the dead rows that go with it, every five
-- minutes), where only the rows whose ranking changed need writing.
--
-- A materialized view cannot gain a column, so it is dropped and recreated.
-- Only the plpgsql bodies of functions/leaderboard.sql refer to it, and those
-- are not dependencies, so nothing else is dropped with it.

-- strata:up
SET LOCAL ROLE strata_owner;

DROP MATERIALIZED VIEW public.workshop_leaderboard;

-- The ranking is the previous one, computed before the join so it only
-- depends on progress; the join then names each ranked row. It runs as the
-- view's owner at each refresh, which users_owner_all (policies/users.sql)
-- lets read every user.
CREATE MATERIALIZED VIEW public.workshop_leaderboard AS
SELECT
  r.workshop_id,
  r.user_id,
  u.display_name,
  r.completed_modules,
  r.average_score,
  r.rank,
  r.last_completed_at
FROM (
  SELECT
    p.workshop_id,
    p.user_id,
    count(*)::integer                                        AS completed_modules,
    round(avg(p.score), 2)                                   AS average_score,
    rank() OVER (PARTITION BY p.workshop_id
                 ORDER BY count(*) DESC, avg(p.score) DESC)::integer AS rank,
    max(p.updated_at)                                        AS last_completed_at
  FROM public.workshop_progress p
  WHERE p.status = 'completed'
    AND p.updated_at >= now() - interval '30 days'
  GROUP BY p.workshop_id, p.user_id
) r
JOIN public.users u ON u.id = r.user_id
WITH DATA;

-- REFRESH ... CONCURRENTLY requires a unique index on plain columns that
-- covers every row; (workshop_id, user_id) is the view's grouping key.
CREATE UNIQUE INDEX workshop_leaderboard_workshop_user_key ON public.workshop_leaderboard (workshop_id, user_id);
-- A workshop's top N in the function's order (rank, then user_id between
-- ties), which the index yields without a sort.
CREATE INDEX workshop_leaderboard_workshop_rank_user_idx ON public.workshop_leaderboard (workshop_id, rank, user_id);
-- The platform-wide top N (reporting).
CREATE INDEX workshop_leaderboard_global_idx ON public.workshop_leaderboard (completed_modules DESC, average_score DESC);

-- The grants of policies/workshop_progress.sql, which is not re-applied when
-- only a migration changes: without them reporting would lose the view. The
-- names add nothing reporting cannot already read in users.
REVOKE ALL ON TABLE public.workshop_leaderboard FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT ON TABLE public.workshop_leaderboard TO strata_readonly;

-- When the view was last refreshed: one row, written by
-- refresh_workshop_leaderboard() in the refresh's own transaction.
CREATE TABLE public.workshop_leaderboard_refresh (
  singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  refreshed_at timestamptz NOT NULL
);
INSERT INTO public.workshop_leaderboard_refresh (refreshed_at) VALUES (now());
REVOKE ALL ON TABLE public.workshop_leaderboard_refresh FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT ON TABLE public.workshop_leaderboard_refresh TO strata_readonly;

-- strata:down
SET LOCAL ROLE strata_owner;

DROP MATERIALIZED VIEW public.workshop_leaderboard;
DROP TABLE public.workshop_leaderboard_refresh;

-- As created by 20261121000600_training.sql.
CREATE MATERIALIZED VIEW public.workshop_leaderboard AS
SELECT
  p.workshop_id,
  p.user_id,
  count(*)::integer                                        AS completed_modules,
  round(avg(p.score), 2)                                   AS average_score,
  rank() OVER (PARTITION BY p.workshop_id
               ORDER BY count(*) DESC, avg(p.score) DESC)::integer AS rank,
  max(p.updated_at)                                        AS last_completed_at,
  now()                                                    AS refreshed_at
FROM public.workshop_progress p
WHERE p.status = 'completed'
  AND p.updated_at >= now() - interval '30 days'
GROUP BY p.workshop_id, p.user_id
WITH DATA;

CREATE UNIQUE INDEX workshop_leaderboard_workshop_user_key ON public.workshop_leaderboard (workshop_id, user_id);
CREATE INDEX workshop_leaderboard_workshop_rank_idx ON public.workshop_leaderboard (workshop_id, rank);
CREATE INDEX workshop_leaderboard_global_idx ON public.workshop_leaderboard (completed_modules DESC, average_score DESC);

REVOKE ALL ON TABLE public.workshop_leaderboard FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT ON TABLE public.workshop_leaderboard TO strata_readonly;

-- workshop_leaderboard_for_member() and refresh_workshop_leaderboard() as
-- they were before this migration: the view above has no display_name and
-- the refresh table is gone, so the current bodies would fail at their first
-- call. The previous release's functions/leaderboard.sql, re-applied by its
-- next migrate, replaces it with the same text.
CREATE OR REPLACE FUNCTION public.workshop_leaderboard_for_member(
  p_workshop_id uuid,
  p_limit integer DEFAULT 50
)
RETURNS TABLE (
  workshop_id       uuid,
  user_id           uuid,
  display_name      text,
  completed_modules integer,
  average_score     numeric,
  rank              integer,
  last_completed_at timestamptz,
  refreshed_at      timestamptz
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  -- Checked first, so a non-member costs one membership lookup.
  IF NOT p_workshop_id = ANY (public.app_member_workshop_ids()) THEN
    RETURN;
  END IF;
  RETURN QUERY
    SELECT l.workshop_id, l.user_id, u.display_name, l.completed_modules,
           l.average_score, l.rank, l.last_completed_at, l.refreshed_at
      FROM public.workshop_leaderboard l
      JOIN public.users u ON u.id = l.user_id
     WHERE l.workshop_id = p_workshop_id
     ORDER BY l.rank, l.user_id
     LIMIT least(greatest(coalesce(p_limit, 50), 0), 1000);
END
$$;

REVOKE ALL ON FUNCTION public.workshop_leaderboard_for_member(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.workshop_leaderboard_for_member(uuid, integer) TO strata_app;

CREATE OR REPLACE FUNCTION public.refresh_workshop_leaderboard(
  OUT refreshed boolean,
  OUT row_count bigint,
  OUT duration_ms double precision
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_started timestamptz;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('strata.refresh_workshop_leaderboard')) THEN
    refreshed := false;
    RETURN;
  END IF;
  v_started := clock_timestamp();
  -- CONCURRENTLY: readers keep the previous ranking while it rebuilds.
  REFRESH MATERIALIZED VIEW CONCURRENTLY public.workshop_leaderboard;
  SELECT count(*) INTO row_count FROM public.workshop_leaderboard;
  duration_ms := extract(epoch FROM clock_timestamp() - v_started) * 1000;
  refreshed := true;
END
$$;

REVOKE ALL ON FUNCTION public.refresh_workshop_leaderboard() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.refresh_workshop_leaderboard() TO strata_worker;
