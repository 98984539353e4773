-- FAQ: global entries (workshop_id NULL) are readable by any identified
-- user and written only by the platform; a workshop's entries are read by
-- its members and written by its admins.
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
     WHERE schemaname = 'public' AND tablename IN ('faq')
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', r.policyname, r.tablename);
  END LOOP;
END
$$;

REVOKE ALL ON TABLE public.faq FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.faq TO strata_app;
GRANT SELECT ON TABLE public.faq TO strata_readonly;

-- FORCE ROW LEVEL SECURITY subjects the owner too; its access (migrations'
-- backfills, SECURITY DEFINER functions, REFRESH) is this explicit policy.
CREATE POLICY faq_owner_all ON public.faq FOR ALL TO strata_owner USING (true) WITH CHECK (true);
-- Reporting reads every tenant, and only reads.
CREATE POLICY faq_readonly_select ON public.faq FOR SELECT TO strata_readonly USING (true);

CREATE POLICY faq_app_select ON public.faq FOR SELECT TO strata_app
  USING (
    workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[])
    OR (workshop_id IS NULL AND (SELECT public.app_current_user_id()) IS NOT NULL)
  );
-- workshop_id = ANY (...) is never true for NULL, so global rows stay read-only.
CREATE POLICY faq_app_insert ON public.faq FOR INSERT TO strata_app
  WITH CHECK (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]));
CREATE POLICY faq_app_update ON public.faq FOR UPDATE TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]))
  WITH CHECK (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]));
CREATE POLICY faq_app_delete ON public.faq FOR DELETE TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_admin_workshop_ids())::uuid[]));
