-- Workshops: members read theirs; admins edit it; only an owner deletes it.
-- New workshops come from create_workshop() (functions/workshops.sql).
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
     WHERE schemaname = 'public' AND tablename IN ('workshops')
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', r.policyname, r.tablename);
  END LOOP;
END
$$;

REVOKE ALL ON TABLE public.workshops FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, UPDATE, DELETE ON TABLE public.workshops TO strata_app;
GRANT SELECT ON TABLE public.workshops TO strata_readonly;

-- FORCE ROW LEVEL SECURITY subjects the owner too; its access (migrations'
-- backfills, SECURITY DEFINER functions, REFRESH) is this explicit policy.
CREATE POLICY workshops_owner_all ON public.workshops FOR ALL TO strata_owner USING (true) WITH CHECK (true);
-- Reporting reads every tenant, and only reads.
CREATE POLICY workshops_readonly_select ON public.workshops FOR SELECT TO strata_readonly USING (true);

-- The tenant is its own row: the policies filter on id (the primary key).
CREATE POLICY workshops_app_select ON public.workshops FOR SELECT TO strata_app
  USING (id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));
CREATE POLICY workshops_app_update ON public.workshops FOR UPDATE TO strata_app
  USING (id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]))
  WITH CHECK (id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]));
CREATE POLICY workshops_app_delete ON public.workshops FOR DELETE TO strata_app
  USING (EXISTS (
    SELECT 1 FROM public.workshop_members m
     WHERE m.workshop_id = workshops.id
       AND m.user_id = (SELECT public.app_current_user_id())
       AND m.role = 'owner'
  ));
