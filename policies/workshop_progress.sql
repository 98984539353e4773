-- Training: members see their workshop's progress (the leaderboard is built
-- from it) and record their own; admins may delete. The module catalogue is
-- readable by everyone. The leaderboard materialized view has no RLS: the
-- application reads it only through the view workshop_leaderboard_member.
SET LOCAL ROLE strata_owner;

-- The file is the whole truth for these tables: every existing policy is
-- dropped first (a renamed or deleted policy does not linger), then the
-- current ones are created, in the same transaction.
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT tablename, policyname FROM pg_catalog.pg_policies
     WHERE schemaname = 'public' AND tablename IN ('workshop_progress')
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', r.policyname, r.tablename);
  END LOOP;
END
$$;

REVOKE ALL ON TABLE public.workshop_progress FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.workshop_progress TO strata_app;
GRANT SELECT ON TABLE public.workshop_progress TO strata_readonly;

-- FORCE ROW LEVEL SECURITY subjects the owner too; its access (migrations'
-- backfills, SECURITY DEFINER functions, REFRESH) is this explicit policy.
CREATE POLICY workshop_progress_owner_all ON public.workshop_progress FOR ALL TO strata_owner USING (true) WITH CHECK (true);
-- Reporting reads every tenant, and only reads.
CREATE POLICY workshop_progress_readonly_select ON public.workshop_progress FOR SELECT TO strata_readonly USING (true);

CREATE POLICY workshop_progress_app_select ON public.workshop_progress FOR SELECT TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));
CREATE POLICY workshop_progress_app_insert ON public.workshop_progress FOR INSERT TO strata_app
  WITH CHECK (user_id = (SELECT public.app_current_user_id()) AND workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));
CREATE POLICY workshop_progress_app_update ON public.workshop_progress FOR UPDATE TO strata_app
  USING (user_id = (SELECT public.app_current_user_id()) AND workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]))
  WITH CHECK (user_id = (SELECT public.app_current_user_id()) AND workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));
CREATE POLICY workshop_progress_app_delete ON public.workshop_progress FOR DELETE TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]));

REVOKE ALL ON TABLE public.modules FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT ON TABLE public.modules TO strata_app, strata_worker, strata_readonly;

REVOKE ALL ON TABLE public.workshop_leaderboard FROM PUBLIC, strata_app, strata_worker, strata_readonly;
-- Reporting sees every tenant anyway; the application and the worker do not
-- get the view (the worker refreshes it through refresh_workshop_leaderboard()).
GRANT SELECT ON TABLE public.workshop_leaderboard TO strata_readonly;
