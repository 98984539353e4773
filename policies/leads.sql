-- Leads: every member of the workshop works them. The worker trims chat
-- histories across all workshops (trim_chat_histories runs as the worker).
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
     WHERE schemaname = 'public' AND tablename IN ('leads')
  LOOP
    EXECUTE format('DROP POLICY %I ON public.%I', r.policyname, r.tablename);
  END LOOP;
END
$$;

REVOKE ALL ON TABLE public.leads FROM PUBLIC, strata_app, strata_worker, strata_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.leads TO strata_app;
-- Only the two columns the trim rewrites.
GRANT SELECT, UPDATE (chat_history, chat_history_offset) ON TABLE public.leads TO strata_worker;
GRANT SELECT ON TABLE public.leads TO strata_readonly;

-- FORCE ROW LEVEL SECURITY subjects the owner too; its access (migrations'
-- backfills, SECURITY DEFINER functions, REFRESH) is this explicit policy.
CREATE POLICY leads_owner_all ON public.leads FOR ALL TO strata_owner USING (true) WITH CHECK (true);
-- Reporting reads every tenant, and only reads.
CREATE POLICY leads_readonly_select ON public.leads FOR SELECT TO strata_readonly USING (true);

CREATE POLICY leads_app_select ON public.leads FOR SELECT TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));
CREATE POLICY leads_app_insert ON public.leads FOR INSERT TO strata_app
  WITH CHECK (workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));
CREATE POLICY leads_app_update ON public.leads FOR UPDATE TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]))
  WITH CHECK (workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));
CREATE POLICY leads_app_delete ON public.leads FOR DELETE TO strata_app
  USING (workshop_id = ANY ((SELECT public.app_member_workshop_ids())::uuid[]));

CREATE POLICY leads_worker_select ON public.leads FOR SELECT TO strata_worker USING (true);
CREATE POLICY leads_worker_update ON public.leads FOR UPDATE TO strata_worker USING (true) WITH CHECK (true);
