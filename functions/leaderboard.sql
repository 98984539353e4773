-- The leaderboard materialized view has no row-level security, so the
-- application never reads it directly: this function is its access path and
-- returns rows only for a workshop the caller belongs to.
SET LOCAL ROLE strata_owner;

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
  SELECT count(*) INTO row_count FROM public.workshop_leaderboard;
  duration_ms := extract(epoch FROM clock_timestamp() - v_started) * 1000;
  refreshed := true;
END
$$;

REVOKE ALL ON FUNCTION public.workshop_leaderboard_for_member(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.workshop_leaderboard_for_member(uuid, integer) TO strata_app;
REVOKE ALL ON FUNCTION public.refresh_workshop_leaderboard() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.refresh_workshop_leaderboard() TO strata_worker;
