-- Memberships: members see their workshops' members; admins manage them;
-- anyone may leave a workshop.
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
     WHERE schemaname = 'public' AND tablename IN ('workshop_members')
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', r.policyname, r.tablename);
  END LOOP;
END
$$;

REVOKE ALL ON TABLE public.workshop_members FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.workshop_members TO strata_app;
GRANT SELECT ON TABLE public.workshop_members TO strata_readonly;

-- FORCE ROW LEVEL SECURITY subjects the owner too; its access (migrations'
-- backfills, SECURITY DEFINER functions, REFRESH) is this explicit policy.
CREATE POLICY workshop_members_owner_all ON public.workshop_members FOR ALL TO strata_owner USING (true) WITH CHECK (true);
-- Reporting reads every tenant, and only reads.
CREATE POLICY workshop_members_readonly_select ON public.workshop_members FOR SELECT TO strata_readonly USING (true);

CREATE POLICY workshop_members_app_select ON public.workshop_members FOR SELECT TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));
CREATE POLICY workshop_members_app_insert ON public.workshop_members FOR INSERT TO strata_app
  WITH CHECK (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]));
CREATE POLICY workshop_members_app_update ON public.workshop_members FOR UPDATE TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]))
  WITH CHECK (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]));
CREATE POLICY workshop_members_app_delete ON public.workshop_members FOR DELETE TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]) OR user_id = (SELECT public.app_current_user_id()));
