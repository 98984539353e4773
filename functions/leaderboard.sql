-- Maintenance of the leaderboard materialized view. The application reads it
-- through the view workshop_leaderboard_member (migration 20261122000300),
-- which returns only rows of workshops the caller belongs to.
SET LOCAL ROLE strata_owner;

-- REFRESH needs ownership of the view (PostgreSQL 15 has no MAINTAIN
-- privilege), so the worker refreshes through this function. The advisory
-- lock makes a second concurrent call return at once (refreshed = false)
-- instead of queueing behind the first and refreshing twice.
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
  -- The view's rows do not carry the time (see migration
  -- 20261122000200), so a refresh only rewrites rows whose ranking changed.
  UPDATE public.workshop_leaderboard_refresh SET refreshed_at = now();
  SELECT count(*) INTO row_count FROM public.workshop_leaderboard;
  duration_ms := extract(epoch FROM clock_timestamp() - v_started) * 1000;
  refreshed := true;
END
$$;

REVOKE ALL ON FUNCTION public.refresh_workshop_leaderboard() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.refresh_workshop_leaderboard() TO strata_worker;
