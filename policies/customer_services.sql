-- A workshop's services: members read, admins write. The customer-facing
-- read is get_customer_context().
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
     WHERE schemaname = 'public' AND tablename IN ('customer_services')
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', r.policyname, r.tablename);
  END LOOP;
END
$$;

REVOKE ALL ON TABLE public.customer_services FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.customer_services TO strata_app;
GRANT SELECT ON TABLE public.customer_services TO strata_readonly;

-- FORCE ROW LEVEL SECURITY subjects the owner too; its access (migrations'
-- backfills, SECURITY DEFINER functions, REFRESH) is this explicit policy.
CREATE POLICY customer_services_owner_all ON public.customer_services FOR ALL TO strata_owner USING (true) WITH CHECK (true);
-- Reporting reads every tenant, and only reads.
CREATE POLICY customer_services_readonly_select ON public.customer_services FOR SELECT TO strata_readonly USING (true);

CREATE POLICY customer_services_app_select ON public.customer_services FOR SELECT TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));
CREATE POLICY customer_services_app_insert ON public.customer_services FOR INSERT TO strata_app
  WITH CHECK (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]));
CREATE POLICY customer_services_app_update ON public.customer_services FOR UPDATE TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]))
  WITH CHECK (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]));
CREATE POLICY customer_services_app_delete ON public.customer_services FOR DELETE TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]));
