-- Users: everyone sees themselves and the members of their workshops, and
-- edits only themselves. Accounts are created and deleted by the platform
-- (owner role), not by the application role.
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
     WHERE schemaname = 'public' AND tablename IN ('users')
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', r.policyname, r.tablename);
  END LOOP;
END
$$;

REVOKE ALL ON TABLE public.users FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, UPDATE ON TABLE public.users TO strata_app;
GRANT SELECT ON TABLE public.users TO strata_readonly;

-- FORCE ROW LEVEL SECURITY subjects the owner too; its access (migrations'
-- backfills, SECURITY DEFINER functions, REFRESH) is this explicit policy.
CREATE POLICY users_owner_all ON public.users FOR ALL TO strata_owner USING (true) WITH CHECK (true);
-- Reporting reads every tenant, and only reads.
CREATE POLICY users_readonly_select ON public.users FOR SELECT TO strata_readonly USING (true);

-- Colleagues are found through workshop_members' primary key
-- (workshop_id, user_id); users.id is the primary key.
CREATE POLICY users_app_select ON public.users FOR SELECT TO strata_app
  USING (
    id = (SELECT public.app_current_user_id())
    OR id IN (
      SELECT m.user_id FROM public.workshop_members m
       WHERE m.workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[])
    )
  );
CREATE POLICY users_app_update ON public.users FOR UPDATE TO strata_app
  USING (id = (SELECT public.app_current_user_id()))
  WITH CHECK (id = (SELECT public.app_current_user_id()));
