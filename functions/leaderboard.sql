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
-- The plan does not depend on the arguments (one workshop's rows in index
-- order), but the cost of a generic plan with LIMIT $2 looks worse than a
-- custom one's, so the plan cache re-planned at every call: a third of the
-- call's cost. Planned once per session instead.
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
  -- Membership is one index probe of workshop_members, an InitPlan
  -- evaluated once before any row is read: a non-member gets no rows and
  -- costs that probe. It reads the table directly (this function runs as its
  -- owner) rather than through app_member_workshop_ids(), which would add a
  -- nested SECURITY DEFINER call and collect every membership of the user.
  -- display_name comes from the view, as fresh as its last refresh, so there
  -- is no lookup in users per row; workshop_leaderboard_workshop_rank_user_idx
  -- yields the rows in this order without a sort.
  RETURN QUERY
    SELECT l.workshop_id, l.user_id, l.display_name, l.completed_modules,
           l.average_score, l.rank, l.last_completed_at, r.refreshed_at
      FROM public.workshop_leaderboard l
     CROSS JOIN public.workshop_leaderboard_refresh r
     WHERE l.workshop_id = p_workshop_id
       AND EXISTS (
             SELECT FROM public.workshop_members m
              WHERE m.workshop_id = p_workshop_id
                AND m.user_id = public.app_current_user_id())
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
  -- The view's rows do not carry the time (see migration
  -- 20261122000200), so a refresh only rewrites rows whose ranking changed.
  UPDATE public.workshop_leaderboard_refresh SET refreshed_at = now();
  SELECT count(*) INTO row_count FROM public.workshop_leaderboard;
  duration_ms := extract(epoch FROM clock_timestamp() - v_started) * 1000;
  refreshed := true;
END
$$;

REVOKE ALL ON FUNCTION public.workshop_leaderboard_for_member(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.workshop_leaderboard_for_member(uuid, integer) TO strata_app;
REVOKE ALL ON FUNCTION public.refresh_workshop_leaderboard() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.refresh_workshop_leaderboard() TO strata_worker;
