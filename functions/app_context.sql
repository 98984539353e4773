-- Who is asking: the application names its user per transaction with
--   select set_config('app.user_id', '<uuid>', true)
-- and the policies call these helpers wrapped as (select ...), so each is
-- evaluated once per query (an InitPlan) instead of once per row.
SET LOCAL ROLE strata_owner;

-- NULL when unset (or set to ''), so "no user" matches no row. A malformed
-- value raises instead of silently matching nothing.
CREATE OR REPLACE FUNCTION public.app_current_user_id()
RETURNS uuid
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
  SELECT NULLIF(pg_catalog.current_setting('app.user_id', true), '')::uuid
$$;

-- The workshop the application is acting for, when it narrows a request to
-- one (app.workshop_id). Membership is still what grants access.
CREATE OR REPLACE FUNCTION public.app_current_workshop_id()
RETURNS uuid
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
  SELECT NULLIF(pg_catalog.current_setting('app.workshop_id', true), '')::uuid
$$;

-- SECURITY DEFINER: it reads workshop_members, whose own policies call it;
-- running as the owner (whose policy admits every row) ends the recursion.
-- Returns an array so a policy becomes "workshop_id = ANY ($initplan)", an
-- index condition on the workshop_id column. PL/pgSQL rather than SQL: a
-- SECURITY DEFINER SQL function is never inlined and, before PostgreSQL 18,
-- re-planned at every call, which cost more than the query it protects;
-- PL/pgSQL keeps the plan for the session.
CREATE OR REPLACE FUNCTION public.app_member_workshop_ids()
RETURNS uuid[]
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN (
    SELECT coalesce(array_agg(m.workshop_id), '{}')
      FROM public.workshop_members m
     WHERE m.user_id = public.app_current_user_id()
  );
END
$$;

-- Workshops where the current user may manage members, services and FAQ.
CREATE OR REPLACE FUNCTION public.app_admin_workshop_ids()
RETURNS uuid[]
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN (
    SELECT coalesce(array_agg(m.workshop_id), '{}')
      FROM public.workshop_members m
     WHERE m.user_id = public.app_current_user_id()
       AND m.role IN ('owner', 'admin')
  );
END
$$;

-- Policy expressions run with the privileges of the querying role, so only
-- the role the policies are written for may execute the helpers.
REVOKE ALL ON FUNCTION public.app_current_user_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION public.app_current_workshop_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION public.app_member_workshop_ids() FROM PUBLIC;
REVOKE ALL ON FUNCTION public.app_admin_workshop_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.app_current_user_id() TO strata_app;
GRANT EXECUTE ON FUNCTION public.app_current_workshop_id() TO strata_app;
GRANT EXECUTE ON FUNCTION public.app_member_workshop_ids() TO strata_app;
GRANT EXECUTE ON FUNCTION public.app_admin_workshop_ids() TO strata_app;
